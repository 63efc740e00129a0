"""The dbt project on Spark, end to end: load -> extract -> dbt build on both targets, then every
rpt_ model checked against DuckDB answering the same question on the same CSV files."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from ingest.contract import Contract
from ingest.loader import LoadOptions, load_dataset
from ingest.settings import REPO_ROOT, MySQLSettings

from .conftest import TPCH_ROWS
from .tpch_reference import REPORTS, assert_reports_match, report_select, report_vars_differ

DBT = str(Path(sys.executable).parent / "dbt")
MARTS = ["dim_customer", "dim_date", "dim_geography", "dim_part", "dim_supplier", "fct_order_lines", "fct_orders"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Pipeline:
    """A private lake, Spark metastores and dbt artifacts for this module's runs."""

    def __init__(self, root: Path, csv_dir: Path) -> None:
        self.root = root
        self.csv_dir = csv_dir
        self.lake = root / "lake"
        self.env = {
            **os.environ,
            "LAKEHOUSE_LOCAL_DIR": str(root),
            "LAKEHOUSE_LAKE_URI": f"file://{self.lake}",
            "DBT_TARGET_PATH": str(root / "dbt-target"),
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


@pytest.fixture(scope="module")
def pipeline(
    tmp_path_factory: pytest.TempPathFactory,
    tpch_dir: Path,
    tpch_contract: Contract,
    mysql_settings: MySQLSettings,
) -> Iterator[Pipeline]:
    """TPC-H 0.01 loaded into MySQL and extracted into a fresh lake."""
    root = tmp_path_factory.mktemp("pipeline")
    database = f"test_dbt_{os.getpid()}"
    load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database, force=True))
    runner = Pipeline(root, tpch_dir)
    extract = runner.run(sys.executable, "-m", "ingest", "extract", "--dataset", "tpch", "--database", database)
    assert extract.returncode == 0, extract.stderr
    yield runner
    from ingest.mysql import connect, quote_identifier

    conn = connect(mysql_settings)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(database)}")
    conn.close()


def test_dbt_vars_hold_the_specification_parameters() -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    assert report_vars_differ(project["vars"]["tpch"]) == []


def test_every_report_declares_its_tpch_query(pipeline: Pipeline) -> None:
    pipeline.dbt("parse")
    manifest = json.loads((pipeline.root / "dbt-target" / "manifest.json").read_text())
    reports = {
        node["name"]: node["config"]["meta"].get("tpch_query")
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"].startswith("rpt_")
    }
    assert reports == {model: query for query, model in REPORTS.items()}
    undocumented = [
        f"{node['name']}.{column}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for column, spec in node["columns"].items()
        if not spec.get("description")
    ]
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert all(n["description"] for n in models)
    assert undocumented == []
    assert len(manifest["unit_tests"]) >= 2


def test_build_on_the_local_session_target_matches_duckdb(pipeline: Pipeline) -> None:
    result = pipeline.dbt("build", "--target", "local")
    assert "ERROR=0" in result.stdout
    assert pipeline.count("fct_order_lines") == TPCH_ROWS["lineitem"]
    assert pipeline.count("fct_orders") == TPCH_ROWS["orders"]
    for model in MARTS:
        assert (pipeline.lake / "lakehouse" / model).is_dir(), model
    # Partitioned by the order's month, as hive folders.
    assert len(list((pipeline.lake / "lakehouse" / "fct_order_lines").glob("order_month=*"))) > 70
    assert_reports_match(pipeline.csv_dir, pipeline.report_rows)


@pytest.fixture(scope="module")
def thrift_server(pipeline: Pipeline) -> Iterator[Pipeline]:
    pipeline.env["SPARK_THRIFT_PORT"] = str(free_port())
    pipeline.env["SPARK_THRIFT_UI_PORT"] = str(free_port())
    script = str(REPO_ROOT / "scripts" / "spark-thrift.sh")
    started = pipeline.run(script, "start")
    assert started.returncode == 0, started.stderr + started.stdout
    try:
        yield pipeline
    finally:
        pipeline.run(script, "stop")


def test_build_on_a_thrift_server_matches_duckdb_and_increments_safely(thrift_server: Pipeline) -> None:
    shutil.rmtree(thrift_server.lake / "lakehouse", ignore_errors=True)  # prove this target writes them
    thrift_server.dbt("build", "--target", "thrift")
    assert_reports_match(thrift_server.csv_dir, thrift_server.report_rows)

    # A second run takes the incremental path (insert_overwrite of the latest months): no line twice.
    second = thrift_server.dbt("run", "--target", "thrift", "--select", "fct_order_lines")
    assert "incremental" in second.stdout
    assert thrift_server.count("fct_order_lines") == TPCH_ROWS["lineitem"]

    thrift_server.dbt("source", "freshness", "--target", "thrift")
    sources = json.loads((thrift_server.root / "dbt-target" / "sources.json").read_text())
    assert sorted(r["status"] for r in sources["results"]) == ["pass"] * 8

    thrift_server.dbt("docs", "generate", "--target", "thrift")
    catalog = json.loads((thrift_server.root / "dbt-target" / "catalog.json").read_text())
    assert "model.lakehouse.rpt_pricing_summary" in catalog["nodes"]
