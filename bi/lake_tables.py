"""The dbt models of the lake as tables of the Spark Thrift server, which Superset queries.

dbt writes each table model as a Parquet folder `<lake>/lakehouse/<model>`. A Thrift server that
dbt did not build them on (the local one `make bi` starts, or a Dataproc cluster after a
session-target build) has no such tables: `register` creates each as an external table over its
folder, under the model's own schema and name (`lakehouse_marts.fct_orders`, as DataHub and the docs
name it). A table dbt made on that server is only refreshed. Dropping an external table never
touches its files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.core.errors import DataError
from ingest.core.lake import Lake, list_files, parse_lake, spark_location

NAME = re.compile(r"[a-z_][a-z0-9_]{0,127}")
MARKER = "lakehouse.registered_by"  # the table property of the tables made here, which may be remade


class LakeTablesError(DataError):
    """The lake's models cannot be served; the message says what to do next."""


@dataclass(frozen=True)
class LakeTable:
    schema: str
    name: str
    location: str

    @property
    def qualified(self) -> str:
        return f"`{self.schema}`.`{self.name}`"


def lake_tables(manifest_path: Path, lake_uri: str) -> list[LakeTable]:
    """The manifest's table and incremental models whose Parquet folder is in the lake."""
    if not manifest_path.exists():
        raise LakeTablesError(f"no dbt manifest at {manifest_path}: run `dbt parse` (or `make manifest`) first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    lake = parse_lake(lake_uri)
    present = _model_folders(lake)
    tables = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node["config"].get("materialized") not in ("table", "incremental"):
            continue
        schema, name = str(node["schema"]).lower(), str(node.get("alias") or node["name"]).lower()
        if not (NAME.fullmatch(schema) and NAME.fullmatch(name)):
            raise LakeTablesError(f"model {schema}.{name}: schema and name must be lowercase identifiers")
        if name in present:
            tables.append(LakeTable(schema, name, f"{spark_location(lake)}/lakehouse/{name}"))
    return sorted(tables, key=lambda t: (t.schema, t.name))


def _model_folders(lake: Lake) -> set[str]:
    """The model folders under `<lake>/lakehouse/` that hold Parquet files."""
    return {key.split("/")[1] for key in list_files(lake, "lakehouse/") if key.endswith(".parquet")}


def register(cursor: Any, tables: list[LakeTable]) -> None:
    """Create (or remake, when made here before) each table over its folder, and refresh it."""
    for table in tables:
        if "'" in table.location or "\\" in table.location:
            raise LakeTablesError(f"{table.location}: a lake location may not hold quotes or backslashes")
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{table.schema}`")
        cursor.execute(f"SHOW TABLES IN `{table.schema}` LIKE '{table.name}'")
        exists = bool(cursor.fetchall())
        if exists and _registered_here(cursor, table):
            cursor.execute(f"DROP TABLE {table.qualified}")  # external: the Parquet files stay
            exists = False
        if not exists:
            cursor.execute(
                f"CREATE TABLE {table.qualified} USING parquet LOCATION '{table.location}' "
                f"TBLPROPERTIES ('{MARKER}' = 'bi')"
            )
        cursor.execute(f"REFRESH TABLE {table.qualified}")


def _registered_here(cursor: Any, table: LakeTable) -> bool:
    cursor.execute(f"SHOW TBLPROPERTIES {table.qualified}")
    return any(row[0] == MARKER for row in cursor.fetchall())
