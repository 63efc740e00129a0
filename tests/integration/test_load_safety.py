"""A killed load changes nothing; two loads of one database never interleave."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymysql
import pytest

from ingest.core.contract import Contract
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings, audit_database
from ingest.load import LoadLocked, LoadOptions, load_dataset
from tests.conftest import TPCH_ROWS, table_count


@pytest.fixture(scope="module")
def big_lineitem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lineitem at scale 0.1 (600k rows): a load that lasts long enough to be killed mid-way."""
    out = tmp_path_factory.mktemp("tpch_big")
    tool = Path(sys.executable).parent / "tpchgen-cli"
    subprocess.run([str(tool), "csv", "-s", "0.1", "--tables", "lineitem", "--output-dir", str(out)], check=True)
    return out


def wait_for_load_data(conn: pymysql.connections.Connection, database: str, timeout: float = 30) -> None:  # type: ignore[type-arg]
    """Until MySQL is executing one of the loader's LOAD DATA statements."""
    deadline = time.monotonic() + timeout
    with conn.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE %s",
                ("LOAD DATA LOCAL INFILE %lakehouse-stream-%",),
            )
            row = cursor.fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the load never started")


def test_sigkill_mid_load_leaves_the_table_as_before_and_a_rerun_completes(
    tpch_dir: Path,
    tpch_contract: Contract,
    big_lineitem: Path,
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database, tables=["lineitem"]))
    with mysql.cursor() as cursor:
        cursor.execute(f"CHECKSUM TABLE {quote_identifier(database)}.lineitem")
        before = cursor.fetchall()

    command = [sys.executable, "-m", "ingest", "load", "--dataset", "tpch", "--tables", "lineitem"]
    command += ["--source", str(big_lineitem), "--database", database, "--no-progress"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_load_data(mysql, database)
        time.sleep(0.3)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL

    assert table_count(mysql, database, "lineitem") == TPCH_ROWS["lineitem"]
    with mysql.cursor() as cursor:
        cursor.execute(f"CHECKSUM TABLE {quote_identifier(database)}.lineitem")
        assert cursor.fetchall() == before

    # The server may need a moment to notice the killed client and release its lock.
    rerun = subprocess.run([*command, "--lock-timeout", "60"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    expected = sum(1 for _ in (big_lineitem / "lineitem.csv").open("rb")) - 1
    assert table_count(mysql, database, "lineitem") == expected
    with mysql.cursor() as cursor:
        cursor.execute(
            f"SELECT status FROM {quote_identifier(audit_database())}.file_loads "
            "WHERE database_name = %s ORDER BY load_id",
            (database,),
        )
        assert [r[0] for r in cursor.fetchall()] == ["succeeded", "interrupted", "succeeded"]
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (database,),
        )
        assert [r[0] for r in cursor.fetchall()] == ["lineitem"]  # no staging leftovers


def test_a_second_load_of_the_same_database_waits_or_fails_clearly(
    tpch_dir: Path, tpch_contract: Contract, database: str, mysql_settings: MySQLSettings
) -> None:
    holder = connect(mysql_settings)
    with holder.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 0)", (f"lakehouse_load.{database}",))
    try:
        with pytest.raises(LoadLocked, match=f"another load into database {database} is running"):
            load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database, tables=["region"]))

        release = threading.Timer(1.0, holder.close)  # the other load ends after a second
        release.start()
        options = LoadOptions(database=database, tables=["region"], lock_timeout=20)
        started = time.monotonic()
        [report] = load_dataset(tpch_contract, tpch_dir, mysql_settings, options)
        assert time.monotonic() - started >= 0.9
        assert report.total("rows_loaded") == TPCH_ROWS["region"]
    finally:
        if holder.open:
            holder.close()
