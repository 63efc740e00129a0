"""A transient failure inside an extract task is retried by Airflow, and the retry succeeds: MySQL
goes away (every connection cut, new ones refused) while the pipeline's own extract task body is
reading, and comes back a few seconds later. Runs through dag.test(), with the task's retries."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.core.contract import Contract
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.extract import batches as lakebatches
from ingest.load import LoadOptions, load_dataset

RETRY_DAG = """
import os
from datetime import timedelta

from airflow.sdk import dag, task

from orchestration import tasks


@dag(dag_id="lakehouse_extract_retry", schedule=None, catchup=False)
def extract_retry():
    @task(retries=3, retry_delay=timedelta(seconds=2))
    def extract_table():
        return tasks.extract_table("tpch", "nation", os.environ["RETRY_TEST_DATABASE"], "full")  # the pipeline's body

    extract_table()


retry_dag = extract_retry()
"""


@pytest.fixture()
def nation(tpch_dir: Path, tpch_contract: Contract, mysql_settings: MySQLSettings) -> Iterator[str]:
    database = f"retry_{uuid.uuid4().hex[:10]}"
    load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database, tables=["nation"]))
    yield database
    conn = connect(mysql_settings)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(database)}")
    conn.close()


def test_mysql_going_away_during_an_extract_task_is_retried_and_the_retry_succeeds(
    airflow_home: Path,
    nation: str,
    mysql_settings: MySQLSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The extract's first two connections prepare its audit table and lock the table; MySQL goes
    # away as the reader connects, cutting both.
    proxy = subprocess.Popen(
        [sys.executable, "-m", "tests.flaky_mysql", mysql_settings.host, str(mysql_settings.port), "2", "3"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proxy.stdout is not None
    port = int(proxy.stdout.readline())
    lake = tmp_path / "lake"
    monkeypatch.setenv("LAKEHOUSE_MYSQL_URL", f"mysql://root@127.0.0.1:{port}")
    monkeypatch.setenv("LAKEHOUSE_LAKE_URI", str(lake))
    monkeypatch.setenv("RETRY_TEST_DATABASE", nation)
    # dag.test() runs a DAG of the configured DAGs folder: a folder holding only this one.
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "extract_retry.py").write_text(RETRY_DAG, encoding="utf-8")
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(dags))
    from airflow import settings  # read once at import: an earlier test may have imported it

    monkeypatch.setattr(settings, "DAGS_FOLDER", str(dags))
    spec = importlib.util.spec_from_file_location("extract_retry_dag", dags / "extract_retry.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        run = module.retry_dag.test()
    finally:
        proxy.kill()
    outages = proxy.communicate()[0].split()
    [ti] = run.get_task_instances()
    assert outages == ["outage"]  # MySQL did go away, once, during the first attempt
    assert str(ti.state) == "success"
    assert ti.try_number >= 2  # failed, then retried
    # Where the outage lands decides whether the failed try had published its batch (MySQL may go
    # away only as its audit row is written): either way no batch is partial, and readers see it all.
    committed = lakebatches.committed_batches(str(lake), "tpch", "nation")
    assert committed and all(batch.manifest.rows == 25 for batch in committed), [b.manifest for b in committed]
    assert lakebatches.read_current(str(lake), "tpch", "nation").num_rows == 25
