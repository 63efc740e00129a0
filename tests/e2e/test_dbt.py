"""The dbt project on Spark, end to end: load -> extract -> dbt build on both targets, then every
rpt_ model checked against DuckDB answering the same question on the same CSV files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
import yaml

from ingest.core.settings import REPO_ROOT
from tests.conftest import TPCH_ROWS
from tests.net import free_port
from tests.pipeline import MARTS, Pipeline
from tests.tpch_reference import REPORTS, assert_reports_match, report_vars_differ


def test_dbt_vars_hold_the_specification_parameters() -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    assert report_vars_differ(project["vars"]["tpch"]) == []


def test_every_report_declares_its_tpch_query(built_chain: Pipeline) -> None:
    manifest = json.loads((built_chain.target / "manifest.json").read_text())
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


def test_build_on_the_local_session_target_matches_duckdb(built_chain: Pipeline) -> None:
    results = json.loads((built_chain.target / "run_results.build.json").read_text())["results"]
    assert len(results) > 100
    # Every model built and every test passed (the exposure is a no-op in a build).
    failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass", "no-op")]
    assert failed == []
    assert built_chain.count("fct_order_lines") == TPCH_ROWS["lineitem"]
    assert built_chain.count("fct_orders") == TPCH_ROWS["orders"]
    for model in MARTS:
        assert (built_chain.lake / "lakehouse" / model).is_dir(), model
    # Partitioned by the order's month, as hive folders.
    assert len(list((built_chain.lake / "lakehouse" / "fct_order_lines").glob("order_month=*"))) > 70
    assert_reports_match(built_chain.csv_dir, built_chain.report_rows)


@pytest.fixture(scope="module")
def thrift_server(built_chain: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """A lake of its own (the shared chain's raw zone, copied) and a local Spark Thrift server."""
    pipeline = Pipeline(tmp_path_factory.mktemp("thrift"), built_chain.csv_dir, built_chain.database)
    shutil.copytree(built_chain.lake / "raw", pipeline.lake / "raw")
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
