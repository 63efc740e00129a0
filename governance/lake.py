"""The lake's own datasets: the raw zone's extracted tables and the lakehouse zone's model folders.

DataHub's data-lake sources (`s3`, `gcs`) cannot be installed beside this project's pins: the `s3`
and `gcs` extras of acryl-datahub 1.7.0.17 require pyarrow<24 and smart-open<8, and the project
pins pyarrow 26 and smart-open 9. So the schemas are read here, the cheap way, and emitted as
SchemaMetadata with MetadataChangeProposalWrapper:
- raw zone: from the committed batches' `manifest.json` (columns with their contract and Arrow
  types, rows, bytes), the same files that decide what readers see (`ingest.extract.batches`); the
  profile (row and column counts) comes from the manifests too, so it costs no scan;
- lakehouse zone: from one Parquet footer per model folder (pyarrow; on GCS through the client's
  ranged reads), plus hive partition folders such as `order_month=...`; row counts from the
  footers, on a local lake only.
Dataset names follow DataHub's data-lake sources: the table folder's path, on platform `file`
(a local lake) or `gcs` (`bucket/prefix/...`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import (
    DatasetLineageTypeClass,
    DatasetProfileClass,
    DatasetPropertiesClass,
    SubTypesClass,
    UpstreamClass,
    UpstreamLineageClass,
)

from governance.datasets import Field, dataset_urn, ownership_mcp, schema_mcp
from ingest import lake as lakes
from ingest.extract.batches import Batch, current_batches, table_prefix
from ingest.lake import Lake


@dataclass(frozen=True)
class RawTable:
    """A raw-zone table as the lake's manifests describe it, and its urn."""

    table: str
    urn: str
    batches: list[Batch]

    @property
    def source_database(self) -> str:
        return self.batches[-1].manifest.source_database


def lake_platform(lake: Lake) -> str:
    return "gcs" if lake.scheme == "gs" else "file"


def lake_name(lake: Lake, key: str) -> str:
    """A folder's dataset name: its absolute path locally, `bucket/prefix/key` on GCS."""
    if lake.scheme == "file":
        assert lake.root is not None
        return str(lake.root / key)
    return "/".join(part for part in (lake.bucket, lake.prefix, key) if part)


def lake_urn(lake: Lake, key: str) -> str:
    return dataset_urn(lake_platform(lake), lake_name(lake, key))


def raw_tables(lake: Lake, dataset: str, tables: list[str]) -> list[RawTable]:
    """The tables of a dataset that have at least one committed batch in the lake."""
    found = []
    for table in tables:
        batches = current_batches(lake, dataset, table)
        if batches:
            found.append(RawTable(table, lake_urn(lake, table_prefix(dataset, table)), batches))
    return found


def raw_zone_mcps(lake: Lake, dataset: str, raw: list[RawTable]) -> Iterator[MetadataChangeProposalWrapper]:
    """Schema, properties, a manifest-based profile and ownership of each raw-zone table."""
    now = int(time.time() * 1000)
    platform = lake_platform(lake)
    for item in raw:
        latest = item.batches[-1].manifest
        fields = [Field(c.name, c.arrow, c.nullable) for c in latest.columns] + [Field("batch", "string", False)]
        key = table_prefix(dataset, item.table)
        rows = sum(b.manifest.rows for b in item.batches)
        yield schema_mcp(item.urn, platform, f"{dataset}.{item.table}", fields)
        yield MetadataChangeProposalWrapper(
            entityUrn=item.urn,
            aspect=DatasetPropertiesClass(
                name=item.table,
                qualifiedName=lakes.url(lake, key),
                description=(
                    f"Raw zone: `{dataset}.{item.table}` extracted from MySQL database `{item.source_database}`; "
                    "Parquet, hive-partitioned by `batch`; a batch is committed when its manifest.json exists."
                ),
                customProperties={
                    "format": "parquet",
                    "compression": latest.compression,
                    "location": lakes.url(lake, key),
                    "current_batches": ",".join(b.id for b in item.batches),
                    "rows": str(rows),
                    "bytes": str(sum(b.manifest.bytes for b in item.batches)),
                    "source_database": item.source_database,
                    "committed_at": latest.committed_at,
                },
            ),
        )
        yield MetadataChangeProposalWrapper(entityUrn=item.urn, aspect=SubTypesClass(typeNames=["Table"]))
        yield MetadataChangeProposalWrapper(
            entityUrn=item.urn,
            aspect=DatasetProfileClass(timestampMillis=now, rowCount=rows, columnCount=len(fields)),
        )
        yield ownership_mcp(item.urn)


def _parquet_schema(lake: Lake, key: str) -> Any:
    if lake.scheme == "file":
        return pq.read_schema(lakes.url(lake, key))
    blob = lakes._client(lake).bucket(lake.bucket).blob("/".join(p for p in (lake.prefix, key) if p))
    with blob.open("rb") as handle:  # ranged reads: only the footer travels
        return pq.read_schema(handle)


def _row_count(lake: Lake, keys: list[str]) -> int | None:
    if lake.scheme != "file":
        return None
    return sum(int(pq.ParquetFile(lakes.url(lake, key)).metadata.num_rows) for key in keys)


def model_folders(manifest: dict[str, Any]) -> dict[str, str]:
    """Model name -> its Spark table (`schema.alias`, lower case), for models stored as Parquet folders."""
    folders = {}
    for node in manifest.get("nodes", {}).values():
        materialized = node.get("config", {}).get("materialized")
        if node.get("resource_type") == "model" and materialized in ("table", "incremental"):
            alias = node.get("alias") or node["name"]
            folders[alias] = f"{node['schema']}.{alias}".lower()
    return folders


def lakehouse_zone_mcps(lake: Lake, manifest: dict[str, Any]) -> Iterator[MetadataChangeProposalWrapper]:
    """Each model's Parquet folder under `<lake>/lakehouse/`, downstream of its Spark table."""
    now = int(time.time() * 1000)
    platform = lake_platform(lake)
    for folder, spark_table in sorted(model_folders(manifest).items()):
        key = f"lakehouse/{folder}"
        files = sorted(k for k in lakes.list_files(lake, key) if k.endswith(".parquet"))
        if not files:
            continue
        schema = _parquet_schema(lake, files[0])
        fields = [Field(f.name, str(f.type), f.nullable) for f in schema]
        partitions = [part.split("=", 1)[0] for part in files[0][len(key) + 1 :].split("/")[:-1] if "=" in part]
        fields += [Field(name, "string (hive partition)", True) for name in partitions]
        urn = lake_urn(lake, key)
        yield schema_mcp(urn, platform, folder, fields)
        yield MetadataChangeProposalWrapper(
            entityUrn=urn,
            aspect=DatasetPropertiesClass(
                name=folder,
                qualifiedName=lakes.url(lake, key),
                description=f"Lakehouse zone: the Parquet files of Spark table `{spark_table}` (dbt model {folder}).",
                customProperties={
                    "format": "parquet",
                    "location": lakes.url(lake, key),
                    "files": str(len(files)),
                    "partitioned_by": ",".join(partitions),
                },
            ),
        )
        yield MetadataChangeProposalWrapper(entityUrn=urn, aspect=SubTypesClass(typeNames=["Table"]))
        rows = _row_count(lake, files)
        if rows is not None:
            yield MetadataChangeProposalWrapper(
                entityUrn=urn, aspect=DatasetProfileClass(timestampMillis=now, rowCount=rows, columnCount=len(fields))
            )
        yield MetadataChangeProposalWrapper(
            entityUrn=urn,
            aspect=UpstreamLineageClass(
                upstreams=[UpstreamClass(dataset=dataset_urn("spark", spark_table), type=DatasetLineageTypeClass.COPY)]
            ),
        )


def lake_for(uri: str) -> Lake:
    return lakes.parse_lake(uri)


def local_path(lake: Lake, key: str) -> Path | None:
    return lake.root / key if lake.scheme == "file" and lake.root is not None else None
