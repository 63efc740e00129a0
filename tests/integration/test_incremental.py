"""Incremental extracts lose nothing: late rows, rows stamped at the watermark, deletes; generated
change histories; a kill at every step of an extract, on a local lake and on gs:// (emulator).
Real MariaDB, the real storage client; readers apply `batches.read_current`'s rule."""

from __future__ import annotations

import datetime as dt
import signal
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.core import lake as lakes
from ingest.core.contract import Contract
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings, audit_database
from ingest.extract import batches as lakebatches
from tests.gcs_emulator import Emulator, gcs_bucket, gcs_emulator  # noqa: F401
from tests.mysql_tables import create_table
from tests.shop import ACCOUNTS, TABLE, T, execute, in_lake, in_mysql, incremental, run_extract


@pytest.fixture()
def accounts(mysql_settings: MySQLSettings, database: str) -> str:
    rows = [(i, Decimal(f"{i}.00"), f"row {i}", T - dt.timedelta(hours=3 - i)) for i in (1, 2, 3)]
    create_table(mysql_settings, database, TABLE, rows)  # the last row is stamped exactly T
    return database


def test_late_rows_a_row_at_the_watermark_and_a_delete_all_reach_the_lake(
    mysql_settings: MySQLSettings, accounts: str, tmp_path: Path
) -> None:
    """The issue's example: watermark T = 2024-01-02 10:00 after the first (full) extract."""
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    first = incremental(mysql_settings, lake, accounts)
    assert (first.mode, first.rows, first.watermark) == ("full", 3, "2024-01-02 10:00:00")

    execute(mysql_settings, accounts, "UPDATE accounts SET balance = -1, updated_at = %s WHERE id = 1",
            dt.datetime(2024, 1, 1, 12, 0))  # (a) a correction stamped before the watermark  # fmt: skip
    execute(mysql_settings, accounts, "INSERT INTO accounts VALUES (4, 4, 'late', %s)",
            dt.datetime(2024, 1, 1, 9, 0))  # (b) a late insert, stamped before the look-back window  # fmt: skip
    execute(mysql_settings, accounts, "INSERT INTO accounts VALUES (5, 5, 'at T', %s)", T)  # (c) exactly at T
    execute(mysql_settings, accounts, "DELETE FROM accounts WHERE id = 2")  # (d) a delete

    second = incremental(mysql_settings, lake, accounts)
    assert (second.mode, second.status, second.rows, second.deleted) == ("incremental", "committed", 3, 1)
    assert in_lake(lake) == in_mysql(mysql_settings, accounts)
    assert [r["id"] for r in in_lake(lake)] == [1, 3, 4, 5]

    batch = lakebatches.committed_batches(lake, "shop", "accounts")[-1]
    assert batch.manifest.watermark is not None and batch.manifest.watermark.low == "2024-01-01 10:00:00"
    assert (batch.manifest.deleted, batch.manifest.primary_key) == (1, ["id"])

    again = incremental(mysql_settings, lake, accounts)
    assert (again.status, again.rows, again.deleted) == ("unchanged", 0, 0)  # the window re-read, nothing new
    assert len(lakebatches.committed_batches(lake, "shop", "accounts")) == 2

    # The docs' DuckDB recipe (docs/extract.md) applies the same rule (`lakehouse-ingest duckdb-sql` prints it).
    rows = duckdb.connect().execute(lakebatches.duckdb_sql(lake, "shop", "accounts") + " order by id").fetchall()
    assert [dict(zip(("id", "balance", "note", "updated_at"), r, strict=True)) for r in rows] == in_mysql(
        mysql_settings, accounts
    )


def test_the_docs_duckdb_recipe_is_the_one_the_project_renders(tpch_contract: Contract) -> None:
    readme = (REPO_ROOT / "docs" / "extract.md").read_text(encoding="utf-8")
    shown = readme.split("prints this for any table of your lake):\n\n```sql\n", 1)[1].split("```", 1)[0]
    orders = tpch_contract.table("orders")
    assert shown == lakebatches.duckdb_recipe("LAKE/raw/tpch/orders", [c.name for c in orders.columns], ["o_orderkey"])


def test_a_table_with_no_committed_batch_is_an_error_not_an_empty_table(tmp_path: Path) -> None:
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    with pytest.raises(lakes.LakeError, match="no committed batch: extract it first"):
        lakebatches.read_current(lake, "shop", "accounts")


# -- generated histories -----------------------------------------------------------------

LOOKBACK = 3600.0  # one hour, so generated stamps cross it often


@st.composite
def histories(draw: st.DrawFn) -> list[list[tuple[str, int, int]]]:
    """Rounds of changes, an incremental extract after each: (operation, id, stamp offset in
    minutes from the newest stamp so far). An insert or update becomes an upsert; the test keeps
    a change to a key the lake already holds within the look-back (the documented bound), while
    a new key may be stamped anywhere. Deletes and re-inserts happen."""
    rounds = []
    for _ in range(draw(st.integers(1, 4))):
        ops = []
        for _ in range(draw(st.integers(0, 6))):
            op = draw(st.sampled_from(["upsert", "upsert", "delete"]))
            ops.append((op, draw(st.integers(1, 12)), draw(st.integers(-3000, 120))))
        rounds.append(ops)
    return rounds


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_after_every_incremental_extract_the_lake_equals_mysql(
    mysql_settings: MySQLSettings, tmp_path: Path, history: list[list[tuple[str, int, int]]]
) -> None:
    database = f"test_inc_{uuid.uuid4().hex[:10]}"
    lake = lakes.resolve_lake_uri(str(tmp_path / uuid.uuid4().hex))
    newest = T
    create_table(mysql_settings, database, TABLE, [(i, Decimal(i), None, T) for i in (1, 2, 3)])
    try:
        incremental(mysql_settings, lake, database, lookback_seconds=LOOKBACK)
        for number, ops in enumerate(history):
            in_the_lake = {row["id"] for row in in_lake(lake)}
            for op, key, minutes in ops:
                if key in in_the_lake:  # a change, not a new key: within the look-back window
                    minutes = max(minutes, -59)
                stamp = newest + dt.timedelta(minutes=minutes)
                newest = max(newest, stamp)
                if op == "delete":
                    execute(mysql_settings, database, "DELETE FROM accounts WHERE id = %s", key)
                else:
                    execute(mysql_settings, database,
                            "INSERT INTO accounts VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                            "balance = VALUES(balance), note = VALUES(note), updated_at = VALUES(updated_at)",
                            key, Decimal(number * 100 + minutes), f"{op} {number}", stamp)  # fmt: skip
            incremental(mysql_settings, lake, database, lookback_seconds=LOOKBACK)
            assert in_lake(lake) == in_mysql(mysql_settings, database), f"after round {number}: {ops}"
    finally:
        execute(mysql_settings, database, f"DROP DATABASE {quote_identifier(database)}")


# -- a kill at every step ----------------------------------------------------------------

STEPS = ["locked", "file-written", "staged", "published", "audited", "retention"]


def audit_statuses(settings: MySQLSettings, lake: str) -> list[str]:
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT status FROM {quote_identifier(audit_database())}.extracts WHERE lake_uri = %s "
                "ORDER BY extract_id",
                (lake,),
            )
            return [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()


@pytest.fixture()
def contract_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yml"
    path.write_text(ACCOUNTS.to_yaml())
    return path


@pytest.fixture(params=["file", "gs"])
def any_lake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "file":
        yield lakes.resolve_lake_uri(str(tmp_path / "lake #1 %25"))  # a space, '#' and '%' in the path
        return
    bucket = request.getfixturevalue("gcs_bucket")
    yield f"gs://{bucket}/lake"


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_step_then_a_rerun_converges(
    step: str, any_lake: str, mysql_settings: MySQLSettings, accounts: str, contract_file: Path
) -> None:
    lake = any_lake
    run_extract(contract_file, accounts, lake, "full")
    execute(mysql_settings, accounts, "UPDATE accounts SET balance = 7, updated_at = %s WHERE id = 3", T)
    execute(mysql_settings, accounts, "INSERT INTO accounts VALUES (9, 9, 'new', %s)", T + dt.timedelta(hours=1))
    execute(mysql_settings, accounts, "DELETE FROM accounts WHERE id = 1")
    mode = "full" if step == "retention" else "incremental"  # retention removes a superseded full snapshot
    before, after = in_lake(lake), in_mysql(mysql_settings, accounts)
    assert run_extract(contract_file, accounts, lake, mode, stop_at=step) == -signal.SIGKILL

    # Whatever the kill left, readers see the old state or the new one, never a mix...
    assert in_lake(lake) in (before, after)
    # ...and a re-run converges: the lake equals MySQL, every key once, nothing half-removed.
    run_extract(contract_file, accounts, lake, mode)
    assert in_lake(lake) == in_mysql(mysql_settings, accounts)
    final = lakebatches.committed_batches(lake, "shop", "accounts")
    assert [b.mode for b in final][-1] == mode
    statuses = audit_statuses(mysql_settings, lakes.resolve_lake_uri(lake))
    assert statuses[0] == "committed" and statuses[-1] in ("committed", "unchanged")
    assert "running" not in statuses
