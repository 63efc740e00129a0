"""A private run of the chain for tests: its own lake, Spark state and dbt artifacts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

from ingest.core.settings import REPO_ROOT

from .tpch_reference import report_select

DBT = str(Path(sys.executable).parent / "dbt")
MARTS = ["dim_customer", "dim_date", "dim_geography", "dim_part", "dim_supplier", "fct_order_lines", "fct_orders"]


class Pipeline:
    """A private lake, Spark metastores and dbt artifacts."""

    def __init__(self, root: Path, csv_dir: Path, database: str = "") -> None:
        self.root = root
        self.csv_dir = csv_dir
        self.database = database  # the MySQL database the chain loaded
        self.lake = root / "lake"
        self.target = root / "dbt-target"
        self.env = {
            **os.environ,
            "LAKEHOUSE_LOCAL_DIR": str(root),
            "LAKEHOUSE_LAKE_URI": f"file://{self.lake}",
            "DBT_TARGET_PATH": str(self.target),
            "DBT_LOG_PATH": str(root / "dbt-logs"),
            "DO_NOT_TRACK": "1",
        }

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=900)

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(DBT, *args)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        return result

    def report_rows(self, model: str) -> list[tuple[Any, ...]]:
        """A report read back from its Parquet folder in the lake, by DuckDB, in the report's order."""
        folder = self.lake / "lakehouse" / model
        assert any(folder.glob("*.parquet")), f"no Parquet files under {folder}"
        with duckdb.connect() as con:
            return con.execute(report_select(model, f"read_parquet('{folder}/*.parquet')")).fetchall()

    def count(self, model: str) -> int:
        with duckdb.connect() as con:
            row = con.execute(
                f"select count(*) from read_parquet('{self.lake}/lakehouse/{model}/**/*.parquet')"
            ).fetchone()
        assert row is not None
        return int(row[0])
