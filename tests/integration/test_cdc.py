"""Change data capture from the binary log (`extract --mode cdc`), against the project's private
MariaDB (`scripts/mysql-local.sh`, which runs with a row-based binlog): updates whatever their
stamp, deletes, key changes, generated histories, a kill at each step; and a clear refusal from a
server without a usable binlog."""

from __future__ import annotations

import datetime as dt
import signal
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.core import lake as lakes
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.extract import ExtractFailed, ExtractOptions, TableResult, extract_dataset
from ingest.extract import batches as lakebatches
from ingest.load import LoadOptions, load_dataset
from tests.mysql_tables import create_table
from tests.shop import ACCOUNTS, TABLE, T, execute, in_lake, in_mysql, run_extract


@pytest.fixture()
def accounts(binlog_server: MySQLSettings) -> Iterator[str]:
    database = f"cdc_{uuid.uuid4().hex[:10]}"
    rows = [(i, Decimal(f"{i}.00"), f"row {i}", T - dt.timedelta(hours=3 - i)) for i in (1, 2, 3)]
    create_table(binlog_server, database, TABLE, rows)
    yield database
    execute(binlog_server, database, f"DROP DATABASE {quote_identifier(database)}")


def cdc(settings: MySQLSettings, lake: str, database: str) -> TableResult:
    [result] = extract_dataset(ACCOUNTS, settings, lake, ExtractOptions(database=database, mode="cdc"))
    return result


def test_cdc_sees_every_change_whatever_its_stamp(binlog_server: MySQLSettings, accounts: str, tmp_path: Path) -> None:
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    first = cdc(binlog_server, lake, accounts)
    assert (first.mode, first.rows, first.note) == ("full", 3, "first cdc extract: full snapshot")
    [snapshot] = lakebatches.committed_batches(lake, "shop", "accounts")
    assert snapshot.manifest.binlog is not None

    old = dt.datetime(2020, 1, 1)  # far before any look-back window: only the log can see this update
    execute(binlog_server, accounts, "UPDATE accounts SET balance = -1, updated_at = %s WHERE id = 1", old)
    execute(binlog_server, accounts, "INSERT INTO accounts VALUES (4, 4, 'late', %s)", old)
    execute(binlog_server, accounts, "UPDATE accounts SET id = 30 WHERE id = 3")  # a key change
    execute(binlog_server, accounts, "DELETE FROM accounts WHERE id = 2")
    execute(binlog_server, accounts, "INSERT INTO accounts VALUES (5, 5, 'short-lived', %s)", T)
    execute(binlog_server, accounts, "DELETE FROM accounts WHERE id = 5")

    second = cdc(binlog_server, lake, accounts)
    assert (second.mode, second.reader, second.status) == ("cdc", "binlog", "committed")
    assert in_lake(lake) == in_mysql(binlog_server, accounts)
    assert [r["id"] for r in in_lake(lake)] == [1, 4, 30]
    batch = lakebatches.committed_batches(lake, "shop", "accounts")[-1]
    assert batch.manifest.binlog is not None and batch.manifest.binlog.key() > snapshot.manifest.binlog.key()

    again = cdc(binlog_server, lake, accounts)
    assert (again.status, again.rows, again.deleted) == ("unchanged", 0, 0)

    # The server purges the log file the lake's position is in: a full snapshot, and it says so.
    execute(binlog_server, accounts, "UPDATE accounts SET note = 'after purge' WHERE id = 4")
    purge_older_logs(binlog_server)
    purged = cdc(binlog_server, lake, accounts)
    assert (purged.mode, purged.status) == ("full", "committed") and "purged: full snapshot" in purged.note
    assert in_lake(lake) == in_mysql(binlog_server, accounts)


def purge_older_logs(settings: MySQLSettings, *, rotate: bool = True) -> None:
    """Every log file but the newest purged (after starting a new one, with `rotate`); MariaDB keeps
    a file until its binlog checkpoint is written, hence the retries."""
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            if rotate:
                cursor.execute("FLUSH BINARY LOGS")
            cursor.execute("SHOW MASTER STATUS")
            newest = cursor.fetchone()
            assert newest is not None
            for _ in range(50):
                cursor.execute("PURGE BINARY LOGS TO %s", (newest[0],))
                cursor.execute("SHOW BINARY LOGS")
                if [row[0] for row in cursor.fetchall()] == [newest[0]]:
                    return
                time.sleep(0.2)
        raise AssertionError("the server kept its older binary logs")
    finally:
        conn.close()


def write_csv(folder: Path, rows: list[tuple[int, str, str, dt.datetime]]) -> None:
    folder.mkdir(exist_ok=True)
    lines = ["id,balance,note,updated_at"] + [f"{i},{b},{n},{u:%Y-%m-%d %H:%M:%S}" for i, b, n, u in rows]
    (folder / "accounts.csv").write_text("\n".join(lines) + "\n")


def test_a_reload_by_the_loader_is_a_full_snapshot(binlog_server: MySQLSettings, tmp_path: Path) -> None:
    """The loader swaps a new table in with RENAME TABLE: no row events for `accounts` to replay."""
    database = f"cdc_{uuid.uuid4().hex[:10]}"
    source, lake = tmp_path / "csv", lakes.resolve_lake_uri(str(tmp_path / "lake"))
    write_csv(source, [(1, "1.00", "one", T), (2, "2.00", "two", T)])
    try:
        load_dataset(ACCOUNTS, source, binlog_server, LoadOptions(database=database))
        assert cdc(binlog_server, lake, database).mode == "full"
        write_csv(source, [(1, "-1.00", "changed", T), (3, "3.00", "new", T)])  # 1 changed, 2 gone, 3 new
        load_dataset(ACCOUNTS, source, binlog_server, LoadOptions(database=database))
        second = cdc(binlog_server, lake, database)
        assert second.mode == "full" and "RENAME TABLE" in second.note.upper()
        assert [r["id"] for r in in_lake(lake)] == [1, 3]
        assert in_lake(lake) == in_mysql(binlog_server, database)
    finally:
        execute(binlog_server, "mysql", f"DROP DATABASE IF EXISTS {quote_identifier(database)}")


def test_truncate_is_a_full_snapshot(binlog_server: MySQLSettings, accounts: str, tmp_path: Path) -> None:
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    cdc(binlog_server, lake, accounts)
    execute(binlog_server, accounts, "TRUNCATE TABLE accounts")
    execute(binlog_server, accounts, "INSERT INTO accounts VALUES (9, 9, 'after', %s)", T)
    second = cdc(binlog_server, lake, accounts)
    assert second.mode == "full" and "TRUNCATE" in second.note.upper()
    assert in_lake(lake) == in_mysql(binlog_server, accounts)


def test_a_quiet_table_moves_its_position_to_the_new_log_file(
    binlog_server: MySQLSettings, accounts: str, tmp_path: Path
) -> None:
    """Nothing changes in `accounts` while another table is busy and the log rotates: the run after
    the rotation commits an empty batch, so a later purge of the old file costs no snapshot."""
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    cdc(binlog_server, lake, accounts)
    execute(binlog_server, accounts, "CREATE TABLE busy (id INT PRIMARY KEY)")
    execute(binlog_server, accounts, "INSERT INTO busy VALUES (1), (2), (3)")
    assert cdc(binlog_server, lake, accounts).status == "unchanged"  # same log file: nothing written
    execute(binlog_server, accounts, "FLUSH BINARY LOGS")
    moved = cdc(binlog_server, lake, accounts)
    assert (moved.mode, moved.status, moved.rows, moved.deleted) == ("cdc", "committed", 0, 0)
    purge_older_logs(binlog_server, rotate=False)  # the file the lake's position was in before the rotation
    later = cdc(binlog_server, lake, accounts)
    assert (later.mode, later.status) == ("cdc", "unchanged"), later.note
    assert in_lake(lake) == in_mysql(binlog_server, accounts)


def test_a_server_without_a_row_binlog_is_refused_with_what_to_set(
    binlog_server: MySQLSettings, accounts: str, tmp_path: Path
) -> None:
    """The private server, with its binlog's column names switched off for the test: refused, and
    the message names the setting to change."""
    execute(binlog_server, accounts, "SET GLOBAL binlog_row_metadata = 'MINIMAL'")
    try:
        with pytest.raises(ExtractFailed, match=r"--mode cdc needs the binary log.*binlog_row_metadata=FULL"):
            cdc(binlog_server, lakes.resolve_lake_uri(str(tmp_path / "lake")), accounts)
    finally:
        execute(binlog_server, accounts, "SET GLOBAL binlog_row_metadata = 'FULL'")


CHANGE = st.tuples(st.sampled_from(["upsert", "delete", "rekey"]), st.integers(1, 9), st.integers(-100_000, 100))


@settings(deadline=None, max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(st.lists(CHANGE, max_size=6), min_size=1, max_size=4))
def test_after_every_cdc_extract_the_lake_equals_mysql(
    binlog_server: MySQLSettings, tmp_path: Path, rounds: list[list[tuple[str, int, int]]]
) -> None:
    """Any history of upserts (stamped anywhere), deletes and key changes."""
    database = f"cdc_{uuid.uuid4().hex[:10]}"
    lake = lakes.resolve_lake_uri(str(tmp_path / uuid.uuid4().hex))
    create_table(binlog_server, database, TABLE, [(i, Decimal(i), None, T) for i in (1, 2, 3)])
    try:
        cdc(binlog_server, lake, database)
        for number, ops in enumerate(rounds):
            for op, key, minutes in ops:
                stamp = T + dt.timedelta(minutes=minutes)
                if op == "delete":
                    execute(binlog_server, database, "DELETE FROM accounts WHERE id = %s", key)
                elif op == "rekey":
                    execute(binlog_server, database, "UPDATE IGNORE accounts SET id = id + 10 WHERE id = %s", key)
                else:
                    execute(binlog_server, database,
                            "INSERT INTO accounts VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                            "balance = VALUES(balance), note = VALUES(note), updated_at = VALUES(updated_at)",
                            key, Decimal(number * 100 + minutes), f"{op} {number}", stamp)  # fmt: skip
            cdc(binlog_server, lake, database)
            assert in_lake(lake) == in_mysql(binlog_server, database), f"after round {number}: {ops}"
    finally:
        execute(binlog_server, database, f"DROP DATABASE {quote_identifier(database)}")


@pytest.mark.parametrize("step", ["file-written", "staged", "published", "audited"])
def test_a_kill_during_a_cdc_extract_then_a_rerun_converges(
    step: str, binlog_server: MySQLSettings, accounts: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_MYSQL_URL", f"mysql://root@127.0.0.1:{binlog_server.port}")
    contract = tmp_path / "shop.yml"
    contract.write_text(ACCOUNTS.to_yaml())
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    run_extract(contract, accounts, lake, "cdc")
    execute(
        binlog_server,
        accounts,
        "UPDATE accounts SET balance = 7, updated_at = %s WHERE id = 3",
        dt.datetime(2001, 1, 1),
    )
    execute(binlog_server, accounts, "DELETE FROM accounts WHERE id = 1")
    before, after = in_lake(lake), in_mysql(binlog_server, accounts)
    assert run_extract(contract, accounts, lake, "cdc", stop_at=step) == -signal.SIGKILL
    assert in_lake(lake) in (before, after)
    run_extract(contract, accounts, lake, "cdc")
    assert in_lake(lake) == after
