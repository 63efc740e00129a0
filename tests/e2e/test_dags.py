"""The Airflow DAGs: integrity, structure, runs through a running scheduler (triggered through the
REST API: two of this DAG at once and the nycflights13 DAG beside them), and through dag.test() a
failing run that stops at the bad file and a model retried alone."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from json import loads
from pathlib import Path
from typing import Any

import duckdb
import pymysql
import pytest

from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import REPO_ROOT
from ingest.extract.batches import committed_batches, current_batches, read_current
from orchestration.config import raw_asset
from orchestration.services import api_time
from orchestration.transform import artifacts_dir, models_of
from tests.conftest import TPCH_ROWS, table_count
from tests.e2e.conftest import SchedulerRun, SchedulerSession
from tests.net import free_port

# The scheduler session (tests/e2e/conftest.py) runs three DAG runs before its first test.
pytestmark = pytest.mark.timeout(1800)
AIRFLOW = str(Path(sys.executable).parent / "airflow")
REPORT_MODELS = 22
MART_MODELS = 8


def test_dags_import_without_errors_and_parse_fast(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert {"lakehouse_pipeline", "lakehouse_dataproc"} <= set(dagbag.dag_ids)
    # Reported, not asserted (timing belongs to benchmarks): bench/bench_airflow.py measures it.
    for stat in dagbag.dagbag_stats:
        print(f"parsed {stat.file} in {stat.duration}")


@pytest.mark.parametrize("dag_id", ["lakehouse_pipeline", "lakehouse_dataproc"])
def test_every_task_has_an_owner_retries_and_no_cycle(dagbag: Any, dag_id: str) -> None:
    from airflow.sdk.definitions.dag import DAG

    dag = dagbag.get_dag(dag_id)
    assert isinstance(dag, DAG)
    dag.check_cycle()  # raises on a cycle
    for task in dag.tasks:
        # Cosmos tasks take their owner from the model's dbt meta (e.g. sales-analytics).
        assert task.owner and task.owner != "airflow", task.task_id
        assert (task.retries or 0) >= 1, task.task_id
        assert task.on_failure_callback, task.task_id


def upstream_ids(dag: Any, task_id: str) -> set[str]:
    return set(dag.get_task(task_id).get_flat_relative_ids(upstream=True))


def test_pipeline_groups_run_in_order_with_a_cosmos_task_per_model_and_its_tests(dagbag: Any) -> None:
    dag = dagbag.get_dag("lakehouse_pipeline")
    groups = dag.task_group.children
    assert {
        "plan_tables",
        "ingest",
        "extract",
        "choose_dbt_target",
        "transform_local",
        "transform_thrift",
        "publish_marts",
        "governance",
        "docs",
        "report",
    } <= set(groups)
    assert "publish_marts" in upstream_ids(dag, "governance.test_results")
    assert "governance.catalog" in upstream_ids(dag, "docs.publish_docs")
    assert "publish_marts" in upstream_ids(dag, "report.business_report")
    assert {"ingest.load_table", "ingest.prepare_source"} <= upstream_ids(dag, "ingest.publish_load")
    assert "ingest.publish_load" in upstream_ids(dag, "extract.extract_table")
    assert "extract.extract_table" in upstream_ids(dag, "choose_dbt_target")
    manifest = loads((REPO_ROOT / "target" / "manifest.json").read_text())
    models = {n["name"] for n in models_of("tpch").values()}  # TPC-H's, not the other datasets'
    assert "stg_tpch__orders" in models and "stg_nycflights13__flights" not in models
    tested = {
        name
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        for name in (manifest["nodes"][d]["name"] for d in n["depends_on"]["nodes"] if d in manifest["nodes"])
    }
    assert len([m for m in models if m.startswith("rpt_")]) == REPORT_MODELS
    for target in ("local", "thrift"):
        ids = {t.task_id for t in groups[f"transform_{target}"].iter_tasks()}
        for model in models:
            prefix = f"transform_{target}.{model}"
            assert {f"{prefix}.run", f"{prefix}_run"} & ids, model
            if model in tested:  # its tests run right after it
                assert f"{prefix}.test" in ids, model
                assert f"{prefix}.run" in upstream_ids(dag, f"{prefix}.test")
        assert "choose_dbt_target" in upstream_ids(dag, f"transform_{target}.stg_tpch__orders.run")
        assert f"transform_{target}.rpt_pricing_summary.test" in upstream_ids(dag, "publish_marts")
    # One dbt build per run: the producer runs it in the session pool; each model's task follows
    # its result without holding Spark, by rescheduling (a trigger would hold `dags test`).
    local = list(groups["transform_local"].iter_tasks())
    [producer] = [t for t in local if t.task_id.endswith("dbt_producer_watcher")]
    assert producer.base_cmd == ["build"] and producer.pool == "spark_session"
    sensors = [t for t in local if t.task_id.endswith((".run", ".test"))]
    assert len(sensors) >= len(models) and all(t.mode == "reschedule" and t.pool == "default_pool" for t in sensors)
    assert producer.callback is not None  # keeps the build's run_results.json for governance
    # Each mapped extract announces its own table through an alias (see the end-to-end test).
    assert [type(a).__name__ for a in dag.get_task("extract.extract_table").outlets] == ["AssetAlias"]
    assert len(dag.get_task("publish_marts").outlets) == MART_MODELS


def test_governance_names_each_model_task_as_the_dag_does(dagbag: Any) -> None:
    """The model DataJobs' URNs name the DAG's own tasks (Cosmos names a model with tests and one
    without differently), in both transform groups of every dataset's DAG."""
    from governance.model_jobs import model_task_id, tested_nodes
    from orchestration.config import pipeline_dags

    manifest = loads((REPO_ROOT / "target" / "manifest.json").read_text())
    tested = tested_nodes(manifest)
    for dataset, dag_id in pipeline_dags().items():
        task_ids = set(dagbag.get_dag(dag_id).task_ids)
        for group in ("transform_local", "transform_thrift"):
            named = {model_task_id(group, m, tested) for m in models_of(dataset).values()}
            assert named <= task_ids, (dag_id, sorted(named - task_ids))
            assert {t for t in task_ids if re.fullmatch(rf"{group}\.\w+[._]run", t)} == named


def test_per_model_execution_is_still_available_for_comparison(
    airflow_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("LAKEHOUSE_DBT_EXECUTION", "per_model")
    dag = DagBag(str(REPO_ROOT / "dags" / "lakehouse_pipeline.py")).dags["lakehouse_pipeline"]
    ids = {t.task_id for t in dag.tasks}
    assert not any("producer" in i for i in ids)
    assert "transform_local.fct_orders.run" in ids and "transform_local.fct_orders.test" in ids
    assert {t.pool for t in dag.tasks if t.task_id.startswith("transform_local.")} == {"spark_session"}
    monkeypatch.setenv("LAKEHOUSE_DBT_EXECUTION", "one_by_one")
    assert "LAKEHOUSE_DBT_EXECUTION" in str(DagBag(str(REPO_ROOT / "dags" / "lakehouse_pipeline.py")).import_errors)


def test_the_marts_and_the_report_s_inputs_come_from_the_dbt_project(dagbag: Any) -> None:
    from orchestration.transform import marts
    from reports.business import MARTS as REPORT_INPUTS

    manifest = loads((REPO_ROOT / "target" / "manifest.json").read_text())
    [exposure] = [e for e in manifest["exposures"].values() if e["name"] == "business_report"]
    # The report runs on a cluster without the manifest, so it keeps its list: the exposure's.
    assert sorted(REPORT_INPUTS) == sorted(n.split(".")[-1] for n in exposure["depends_on"]["nodes"])
    assert len(marts()) == MART_MODELS and set(REPORT_INPUTS) <= set(marts())
    outlets = dagbag.get_dag("lakehouse_pipeline").get_task("publish_marts").outlets
    assert sorted(a.name for a in outlets) == [f"lakehouse.{m}" for m in marts()]


def test_dataproc_dag_always_deletes_its_cluster(dagbag: Any) -> None:
    dag = dagbag.get_dag("lakehouse_dataproc")
    create, delete = dag.get_task("create_cluster"), dag.get_task("delete_cluster")
    assert str(delete.trigger_rule) in ("all_done", "TriggerRule.ALL_DONE")
    everything_else = {t.task_id for t in dag.tasks} - {"delete_cluster"}
    assert upstream_ids(dag, "delete_cluster") == everything_else
    config = create.cluster_config
    assert config["software_config"]["image_version"].startswith("2.2")
    assert config["initialization_actions"][0]["executable_file"].endswith("/dataproc/start-spark-thrift.sh")
    assert create.cluster_name == delete.cluster_name
    runs = [t for t in dag.tasks if t.task_id.startswith("transform.") and t.task_id.endswith("run")]
    assert len([t for t in runs if ".rpt_" in t.task_id]) == REPORT_MODELS
    assert {t.profile_config.target_name for t in runs} == {"dataproc"}
    assert runs[0].env["DATAPROC_THRIFT_HOST"] == f"{create.cluster_name}-m"
    report = dag.get_task("business_report")
    assert report.job["pyspark_job"]["main_python_file_uri"].endswith("/jobs/dataproc_job.py")
    assert report.job["pyspark_job"]["python_file_uris"] == [
        f"gs://{os.environ.get('LAKEHOUSE_BUCKET', 'my-lakehouse-bucket')}/jobs/lakehouse.zip"
    ]
    assert report.job["placement"]["cluster_name"] == create.cluster_name


def lake_counts(lake: Path, table: str) -> int:
    with duckdb.connect() as con:
        row = con.execute(f"select count(*) from read_parquet('{lake}/{table}/**/*.parquet')").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def green_run(scheduler_session: SchedulerSession) -> SchedulerRun:
    """The first TPC-H run of the scheduler session: triggered through the REST API, run by the
    scheduler, its workers and its triggerer (tests/e2e/conftest.py)."""
    return scheduler_session.tpch


def test_the_whole_pipeline_runs_green_under_the_scheduler(
    green_run: SchedulerRun,
    pipeline_database: str,
    isolated_state: Path,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    states = green_run.states()
    not_green = {t: s for t, s in states.items() if any("failed" in state for state in s)}
    assert green_run.state == "success", not_green
    assert {t: table_count(mysql, pipeline_database, t) for t in TPCH_ROWS} == TPCH_ROWS
    lake = isolated_state / "lake"
    # The lake, as its readers see it, equals MySQL table by table; the marts hold TPC-H's counts.
    assert {t: read_current(str(lake), "tpch", t).num_rows for t in TPCH_ROWS} == TPCH_ROWS
    assert lake_counts(lake / "lakehouse", "fct_order_lines") == TPCH_ROWS["lineitem"]
    assert lake_counts(lake / "lakehouse", "fct_orders") == TPCH_ROWS["orders"]
    assert lake_counts(lake / "lakehouse", "dim_customer") == TPCH_ROWS["customer"]
    reports = [p.name for p in (lake / "lakehouse").glob("rpt_*")]
    assert len(reports) == REPORT_MODELS
    page = (lake / "reports" / "latest.html").read_text(encoding="utf-8")
    assert page.count("<img") >= 5
    assert "rpt_pricing_summary" in (lake / "docs" / "index.html").read_text(encoding="utf-8")
    metadata = (lake / "governance" / "metadata.json").read_text(encoding="utf-8")
    assert "rpt_pricing_summary" in metadata and "urn:li:dataPlatform:mysql" in metadata
    # The other branch ran nothing; only its gate (an empty task that absorbs the skip) completes.
    thrift = {t: s for t, s in states.items() if t.startswith("transform_thrift.")}
    assert thrift and all(
        state == ["skipped"] for t, state in thrift.items() if not t.endswith("dbt_producer_watcher_done")
    )


def test_the_model_tasks_start_and_end_in_the_triggerer(green_run: SchedulerRun) -> None:
    """No worker ran a model task of the green run: each started in the triggerer and ended there
    when the build reported its model (a worker's task has a hostname and a pid)."""
    models = [
        t for t in green_run.tasks if t["task_id"].startswith("transform_local.") and "producer" not in t["task_id"]
    ]
    assert len(models) >= 70
    assert all(t["state"] == "success" for t in models), {t["task_id"]: t["state"] for t in models}
    on_a_worker = [t["task_id"] for t in models if t.get("pid") and t["operator"] != "EmptyOperator"]
    assert on_a_worker == []
    producer = [t for t in green_run.tasks if t["task_id"] == "transform_local.dbt_producer_watcher"]
    assert producer[0]["pid"]  # the build itself ran on a worker
    # The build's session made the catalog and both pages: their tasks only found them.
    build_folder = artifacts_dir(green_run.dag_id, green_run.run_id)
    assert {p.name for p in build_folder.glob("*.done")} == {
        "catalog.done",
        "profile_report.done",
        "business_report.done",
    }


def test_each_model_task_of_the_run_is_a_datahub_datajob_with_its_datasets(
    green_run: SchedulerRun, isolated_state: Path
) -> None:
    """Cosmos's model tasks emit no lineage of their own (they end in the triggerer): every model
    task the scheduler ran is still a DataJob in the metadata, under the URN DataHub's Airflow plugin
    gives the task, reading and writing datasets the metadata holds."""
    from governance.model_jobs import model_task_urn
    from tests.datahub_records import index

    records = loads((isolated_state / "lake" / "governance" / "metadata.json").read_text(encoding="utf-8"))
    aspects = index(records)
    datasets = {urn for urn, found in aspects.items() if urn.startswith("urn:li:dataset:") and found}
    tasks = [t["task_id"] for t in green_run.tasks if re.fullmatch(r"transform_local\.\w+[._]run", t["task_id"])]
    assert len(tasks) == len(models_of("tpch"))  # with a test: `<model>.run`, without: `<model>_run`
    for task_id in tasks:
        job = aspects.get(model_task_urn(green_run.dag_id, task_id), {})
        assert job.get("dataJobInfo", {}).get("name") == task_id, task_id
        inputs, outputs = job["dataJobInputOutput"]["inputDatasets"], job["dataJobInputOutput"]["outputDatasets"]
        assert inputs and len(outputs) == 1 and set(inputs + outputs) <= datasets, task_id
        model = task_id.split(".")[1].removesuffix("_run")
        assert outputs[0].endswith(f".{model},PROD)"), outputs


def test_the_api_server_lists_the_runs_newest_first(scheduler_session: SchedulerSession) -> None:
    listed = [(r["dag_run_id"], r["state"]) for r in scheduler_session.listed]
    first, second = scheduler_session.tpch, scheduler_session.tpch_again
    assert listed[:2] == [(second.run_id, "success"), (first.run_id, "success")]


def test_every_table_folder_node_and_asset_is_exactly_one_datahub_dataset(
    green_run: Any,
    dagbag: Any,
    pipeline_database: str,
    isolated_state: Path,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    """The URN check: each MySQL table, lake folder, dbt node and Airflow Asset of the run resolves
    to the one dataset the metadata holds, spelled exactly (no case or platform mismatch)."""
    from datahub_airflow_plugin._airflow_asset_adapter import translate_airflow_asset_to_urn

    from governance.datasets import dataset_urn
    from governance.urns import check, dataset_urns

    lake = isolated_state / "lake"
    lake_uri = f"file://{lake}"
    urns = dataset_urns(loads((lake / "governance" / "metadata.json").read_text(encoding="utf-8")))
    expected: dict[str, str] = {}
    with mysql.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (pipeline_database,))
        for (table,) in cursor.fetchall():
            if not table.startswith("_"):  # the loader's own bookkeeping tables
                expected[f"mysql {pipeline_database}.{table}"] = dataset_urn("mysql", f"{pipeline_database}.{table}")
    for folder in [*(lake / "raw" / "tpch").iterdir(), *(lake / "lakehouse").iterdir()]:
        expected[f"lake {folder}"] = dataset_urn("file", str(folder))
    manifest = loads((REPO_ROOT / "target" / "manifest.json").read_text())
    built = {n["unique_id"] for n in models_of("tpch").values()}
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        if node["unique_id"] in built or (node["resource_type"] == "source" and node["source_name"] == "tpch"):
            name = (
                f"{node['schema']}.{node.get('alias') or node['name']}"
                if node["resource_type"] == "model"
                else (f"{node['schema']}.{node['identifier']}")
            )
            for platform in ("dbt", "spark"):
                expected[f"{platform} {node['unique_id']}"] = dataset_urn(platform, name.lower())
    dag = dagbag.get_dag("lakehouse_pipeline")
    assets = [a for t in dag.tasks for a in t.outlets if hasattr(a, "uri")]
    assets += [raw_asset("tpch", table, lake_uri) for table in TPCH_ROWS]
    assert len(assets) >= MART_MODELS + len(TPCH_ROWS)
    for asset in assets:  # named as DataHub's Airflow plugin names them
        urn = translate_airflow_asset_to_urn(asset)
        assert urn is not None, asset
        expected[f"asset {asset.name}"] = urn
    platforms = {"mysql": {"mysql", "mariadb"}, "lake": {"file", "s3", "gcs"}, "asset": {"file", "s3", "gcs"}}
    platforms |= {"dbt": {"dbt"}, "spark": {"spark", "hive", "databricks"}}
    assert check(expected, urns, platforms) == []
    assert len(expected) >= 100


def test_each_mapped_extract_updates_only_its_own_tables_asset(scheduler_session: SchedulerSession) -> None:
    """Read through the REST API, as a downstream DAG's sensor or an operator reads them."""
    rows = [(e["name"], e["source_map_index"], e["extra"]) for e in scheduler_session.events]
    rows = [row for row in rows if str(row[0]).startswith("raw.tpch.")]
    tables: dict[str, tuple[Any, Any]] = {str(name).rsplit(".", 1)[-1]: (index, extra) for name, index, extra in rows}
    assert len(rows) == len(TPCH_ROWS) and set(tables) == set(TPCH_ROWS)  # one event per table
    assert len({index for index, _ in tables.values()}) == len(TPCH_ROWS)  # each from its own mapped task
    assert all(extra["table"] == table and extra["status"] == "committed" for table, (_, extra) in tables.items())


def test_two_runs_of_one_dag_never_overlap_and_each_commits_whole_snapshots(
    scheduler_session: SchedulerSession, isolated_state: Path
) -> None:
    """Triggered at the same moment: the second run waits for the first (max_active_runs=1). Then
    each table without a cursor gets a second full snapshot, and each table with one (an
    incremental extract) finds nothing changed and commits nothing. Readers see the newest: still MySQL."""
    from ingest.core.contract import contract_path, load_contract

    first, second = scheduler_session.tpch, scheduler_session.tpch_again
    assert first.state == second.state == "success"
    assert second.start >= first.end  # queued, never running beside it
    extracts = [t for t in second.tasks if t["task_id"] == "extract.extract_table"]
    assert len(extracts) == len(TPCH_ROWS) and all(t["state"] == "success" for t in extracts)
    lake = str(isolated_state / "lake")
    for table in load_contract(contract_path("tpch")).tables:
        rows = TPCH_ROWS[table.name]
        batches = committed_batches(lake, "tpch", table.name)
        assert [(b.mode, b.manifest.rows) for b in batches] == [("full", rows)] * (1 if table.cursor else 2)
        assert api_time(batches[0].manifest.committed_at) <= first.end
        assert table.cursor or api_time(batches[1].manifest.started_at) >= first.end
        assert [b.id for b in current_batches(lake, "tpch", table.name)] == [batches[-1].id]
        assert read_current(lake, "tpch", table.name).num_rows == rows


def test_the_dataset_dag_runs_beside_tpch_and_their_builds_take_turns(scheduler_session: SchedulerSession) -> None:
    """Two DAGs at once: their runs overlap, but their dbt builds (one Spark session's metastore)
    never do: the pool lets one at a time."""
    tpch, flights = scheduler_session.tpch, scheduler_session.flights
    assert flights.state == "success", {t: s for t, s in flights.states().items() if "success" not in s}
    assert flights.start < tpch.end and tpch.start < flights.end  # the runs overlapped
    a = tpch.span("transform_local.dbt_producer_watcher")
    b = flights.span("transform_local.dbt_producer_watcher")
    assert a[1] <= b[0] or b[1] <= a[0], (a, b)


def test_spark_s_history_server_shows_the_runs_jobs(green_run: SchedulerRun) -> None:
    """`make spark-history` on the runs' event logs: every Spark application of the scheduler's runs
    is listed as finished, with the jobs the build ran, until Ctrl+C stops it."""
    from ingest.core.settings import spark_events_dir

    # local-<n>[.zstd] is a finished application's log; a Spark session still alive writes .inprogress.
    finished = (p.name for p in spark_events_dir().iterdir() if not p.name.endswith(".inprogress"))
    logs = sorted(name.split(".")[0] for name in finished)
    assert logs  # the builds, the catalogs and the reports of the session's runs
    port = free_port()
    env = {**os.environ, "LAKEHOUSE_SPARK_HISTORY_PORT": str(port)}
    server = subprocess.Popen(
        ["make", "-s", "spark-history"], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1/applications"
        deadline, apps = time.monotonic() + 180, list[dict[str, Any]]()
        while time.monotonic() < deadline and len(apps) < len(logs):
            try:
                with urllib.request.urlopen(f"{base}?status=completed", timeout=5) as response:
                    apps = loads(response.read())
            except OSError:
                pass
            time.sleep(2)
        assert sorted(a["id"] for a in apps) == logs
        assert all(attempt["completed"] for a in apps for attempt in a["attempts"])
        jobs = {}
        for app in apps:
            with urllib.request.urlopen(f"{base}/{app['id']}/jobs", timeout=30) as response:
                jobs[app["id"]] = loads(response.read())
        assert max(len(j) for j in jobs.values()) >= 20  # a dbt build runs a Spark job per model and test
        assert all(job["status"] in ("SUCCEEDED", "FAILED") for j in jobs.values() for job in j)
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C in the terminal
        server.wait(timeout=60)


@dataclass
class BadCsvRun:
    run: Any  # the dag.test() DagRun
    raw_before: list[str]  # the lake's orders batches before it
    checksums: dict[str, Any]  # MySQL's CHECKSUM TABLE of orders and customer before it


@pytest.fixture(scope="module")
def bad_csv_run(
    green_run: Any,
    dagbag: Any,
    tpch_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    pipeline_database: str,
    isolated_state: Path,
    mysql_settings: Any,
) -> BadCsvRun:
    """A `dag.test()` run on a copy of the data with one malformed orders row (and a valid change
    to customer), after the green scheduler runs."""
    source = tmp_path_factory.mktemp("bad")
    shutil.copytree(tpch_dir, source, dirs_exist_ok=True)
    with (source / "orders.csv").open("a", encoding="utf-8") as handle:
        handle.write('99999999,1,O,not-a-price,1998-01-01,1-URGENT,Clerk#1,0,"bad row"\n')
    # A valid change to another table: staged fine, but the dataset publishes all or nothing.
    customers = (source / "customer.csv").read_bytes().splitlines(keepends=True)
    (source / "customer.csv").write_bytes(b"".join(customers[:-1]))
    raw_before = sorted(p.name for p in (isolated_state / "lake" / "raw" / "tpch" / "orders").iterdir())
    checksums = {}
    conn = connect(mysql_settings)  # the `mysql` fixture is per test; this one lives for the module
    try:
        with conn.cursor() as cursor:
            for table in ("orders", "customer"):
                cursor.execute(f"CHECKSUM TABLE {quote_identifier(pipeline_database)}.{table}")
                checksums[table] = cursor.fetchall()
    finally:
        conn.close()
    run = dagbag.get_dag("lakehouse_pipeline").test(run_conf={"source": str(source), "database": pipeline_database})
    return BadCsvRun(run, raw_before, checksums)


def test_a_bad_csv_fails_the_ingest_and_nothing_downstream_runs(
    bad_csv_run: BadCsvRun,
    pipeline_database: str,
    isolated_state: Path,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    run = bad_csv_run.run
    assert "failed" in str(run.state)
    states: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
    assert any("failed" in s for s in states["ingest.load_table"])
    later: tuple[str, ...] = ("ingest.publish_load", "extract.", "transform_", "choose_dbt_target", "publish")
    later += ("governance.", "docs.", "report.")
    downstream = [t for t in states if t.startswith(later)]
    assert downstream
    assert all("success" not in s and "running" not in s for t in downstream for s in states[t])
    lake = isolated_state / "lake"
    assert sorted(p.name for p in (lake / "raw" / "tpch" / "orders").iterdir()) == bad_csv_run.raw_before
    with mysql.cursor() as cursor:
        for table in ("orders", "customer"):
            cursor.execute(f"CHECKSUM TABLE {quote_identifier(pipeline_database)}.{table}")
            assert cursor.fetchall() == bad_csv_run.checksums[table], table


def test_make_airflow_ui_serves_the_pipeline_and_its_last_run_in_a_browser(
    airflow_home: Path, browser: Any, tmp_path: Path, bad_csv_run: BadCsvRun
) -> None:
    """The documented command, as a person uses it: start it, sign in with the password it prints,
    see the DAG and its last run (the bad-CSV `dag.test()` run in the SQLite metadata), stop it with Ctrl+C."""
    last_run = bad_csv_run.run.run_id
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    port = free_port()
    # PATH as a fresh shell has it: without .venv/bin, which is what broke the command.
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent)
    env = {**os.environ, "PATH": path, "AIRFLOW__API__PORT": str(port), "AIRFLOW_HOME": str(airflow_home)}
    env.pop("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", None)
    output = tmp_path / "airflow-ui.log"
    with output.open("w") as log_file:
        server = subprocess.Popen(
            ["make", "-s", "airflow-ui"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        password = None
        while time.monotonic() < deadline and password is None:
            assert server.poll() is None, output.read_text()
            match = re.search(r"Password for user 'admin': (\S+)", output.read_text())
            password = match.group(1) if match else None
            time.sleep(1)
        assert password, f"no password printed:\n{output.read_text()}"
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=5).close()
                break
            except OSError:
                time.sleep(1)
        wait = WebDriverWait(browser, 60)
        browser.get(f"{base}/dags/lakehouse_pipeline/runs")
        wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "input[type=password]")))
        browser.find_element(By.CSS_SELECTOR, "input:not([type=password])").send_keys("admin")
        browser.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(password)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # The page's text read in one script call: the single-page UI replaces its elements as it
        # renders, so an element found first may be gone when its text is read.
        wait.until(lambda driver: "lakehouse_pipeline" in driver.execute_script("return document.body.innerText"))
        browser.get(f"{base}/dags/lakehouse_pipeline/runs")
        wait.until(lambda driver: last_run in driver.execute_script("return document.body.innerText"))
        browser.save_screenshot(str(tmp_path / "airflow-ui.png"))
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C in the terminal
        try:
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
    assert "airflow-ui: stopped" in output.read_text()
    with pytest.raises(ProcessLookupError):  # nothing left of the standalone's processes
        os.killpg(server.pid, 0)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listening


def test_a_model_that_failed_in_the_build_is_retried_alone(
    green_run: Any, dagbag: Any, tpch_dir: Path, pipeline_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spark fails writing the two masked models in the build, and the rest succeed; their own
    tasks retry them (a `dbt run` of that model, which Spark now writes), then the models that read
    them, and nothing else is built again: every other task ends on its first try, the producer included."""
    from airflow.sdk import get_current_context
    from dbt.adapters.spark import session

    from orchestration import config

    good_key = os.environ["LAKEHOUSE_PSEUDONYM_KEY"]
    # Cosmos runs dbt in this process with the task's environment and leaves it in os.environ:
    # monkeypatch restores the suite's key afterwards.
    monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEY", good_key)

    class Key:
        def __init__(self, password: str) -> None:
            self.password = password

    in_the_build = threading.Event()

    def connection(conn_id: str) -> Any:
        """Read as each dbt task renders its environment, just before it runs dbt."""
        if conn_id != config.PSEUDONYM_CONN_ID:
            return None
        if get_current_context()["ti"].task_id.endswith("dbt_producer_watcher"):
            in_the_build.set()
        else:
            in_the_build.clear()
        return Key(good_key)

    # dbt puts its query comment before the statement: search, not match.
    masked_write = re.compile(r"\bcreate\s+(or\s+replace\s+)?table\s+\S*\bdim_(customer|supplier)_masked\b", re.I)
    spark_execute = session.Cursor.execute

    def execute(cursor: Any, sql: str, *parameters: Any) -> None:
        if in_the_build.is_set() and masked_write.search(sql):
            raise RuntimeError("injected: the Spark executor writing this table was lost")
        spark_execute(cursor, sql, *parameters)

    monkeypatch.setattr(session.Cursor, "execute", execute)
    monkeypatch.setattr(config, "_connection", connection)
    dag = dagbag.get_dag("lakehouse_pipeline")
    # The green run loaded and extracted these tables and published what follows the build: this
    # run marks those tasks done instead of running them again (the mapping and the branch run).
    done = r"(ingest|extract|governance|docs|report)\..*|publish_marts"
    run = dag.test(run_conf={"source": str(tpch_dir), "database": pipeline_database}, mark_success_pattern=done)
    assert "success" in str(run.state)
    tries = {ti.task_id: ti.try_number for ti in run.get_task_instances() if ti.task_id.startswith("transform_local.")}
    retried = {task for task, number in tries.items() if number > 1}
    assert {"transform_local.dim_customer_masked.run", "transform_local.dim_supplier_masked.run"} <= retried
    # What the build could not write: the two models and the models that read them (skipped there).
    reads = {n["name"]: {d.split(".")[-1] for d in n["depends_on"]["nodes"]} for n in models_of("tpch").values()}
    unbuilt = {name for name in reads if name.endswith("_masked")}
    while grown := {name for name, parents in reads.items() if parents & unbuilt} - unbuilt:
        unbuilt |= grown
    assert "sales_order_lines" in unbuilt and "transform_local.sales_order_lines.run" in retried
    assert all(task.split(".")[1] in unbuilt or task.endswith("dbt_producer_watcher") for task in retried), retried
    assert tries["transform_local.fct_order_lines.run"] == 1 and tries["transform_local.rpt_pricing_summary.run"] == 1
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    # The producer's own retry is skipped by Cosmos (a second build would rebuild everything).
    assert "skipped" in states["transform_local.dbt_producer_watcher"]
    lake = Path(os.environ["LAKEHOUSE_LOCAL_DIR"]) / "lake" / "lakehouse"
    with duckdb.connect() as con:
        masked = f"read_parquet('{lake}/dim_customer_masked/*.parquet')"
        row = con.execute(f"select count(*), count(distinct customer_name_pseudonym) from {masked}").fetchone()
    assert row is not None and row[0] == TPCH_ROWS["customer"] == row[1]
    # The model that reads the masked ones, skipped by the build, was written on its retry.
    assert lake_counts(lake, "sales_order_lines") == TPCH_ROWS["lineitem"]
