"""Incremental extracts at the edges, found by an adversarial review: NULLs in compared rows, DOUBLE
cursors and keys, contract changes, NULL cursors, keys MySQL's collation equates, row-group
pruning, composite keys of every type, a clock behind the previous extract's. Real MariaDB."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.core import lake as lakes
from ingest.core.contract import Contract
from ingest.core.mysql import connect
from ingest.core.settings import MySQLSettings
from ingest.extract import ExtractOptions, TableResult, changes, extract_dataset
from ingest.extract import batches as lakebatches
from tests.mysql_tables import create_table

T = dt.datetime(2024, 1, 2, 10, 0, 0)


def contract(columns: list[dict[str, Any]], cursor: str, key: list[str] | None = None) -> Contract:
    return Contract.model_validate(
        {
            "dataset": "shop",
            "tables": [
                {"name": "t", "files": "t.csv", "primary_key": key or ["id"], "cursor": cursor, "columns": columns}
            ],
        }
    )


def run(
    c: Contract, settings: MySQLSettings, lake: str, database: str, mode: str = "incremental", reader: str = "auto"
) -> TableResult:
    options = ExtractOptions(database=database, mode=mode, reader=reader)  # type: ignore[arg-type]
    [result] = extract_dataset(c, settings, lake, options)
    return result


def sql(settings: MySQLSettings, database: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = connect(settings, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            return [tuple(r) for r in cursor.fetchall()]
    finally:
        conn.close()


# A NULL in any non-key column: the "unchanged" anti-join never matches (null != null), so a
# quiet table writes a new batch on every run.
def test_quiet_table_with_a_null_column_writes_nothing(
    mysql_settings: MySQLSettings, database: str, tmp_path: Path
) -> None:
    c = contract(
        [
            {"name": "id", "type": "INT", "nullable": False},
            {"name": "note", "type": "VARCHAR(20)"},
            {"name": "updated_at", "type": "DATETIME(6)", "nullable": False},
        ],
        "updated_at",
    )
    create_table(mysql_settings, database, c.tables[0], [(1, None, T), (2, "x", T)])
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    assert run(c, mysql_settings, lake, database).mode == "full"
    results = [run(c, mysql_settings, lake, database) for _ in range(3)]  # nothing changes in MySQL
    batches = lakebatches.committed_batches(lake, "shop", "t")
    assert [(r.status, r.rows) for r in results] == [("unchanged", 0)] * 3, (
        f"{[(r.status, r.rows) for r in results]}; {len(batches)} batches in the lake"
    )


# A DOUBLE cursor (FLOAT/DOUBLE are accepted contract types). connectorx (the `auto` reader):
# MAX(cursor) is a Python float and mysql_arrow.literal refuses floats, so even the first full
# snapshot fails. pymysql: decode_value gives a Decimal and read_current's `since` filter builds
# pa.scalar(Decimal, float64), which Arrow refuses: every incremental run fails.
@pytest.mark.parametrize("reader", ["auto", "pymysql"])
def test_incremental_with_a_double_cursor(
    reader: str, mysql_settings: MySQLSettings, database: str, tmp_path: Path
) -> None:
    c = contract(
        [
            {"name": "id", "type": "INT", "nullable": False},
            {"name": "version", "type": "DOUBLE", "nullable": False},
        ],
        "version",
    )
    create_table(mysql_settings, database, c.tables[0], [(1, 1.5), (2, 2.5)])
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    assert run(c, mysql_settings, lake, database, reader=reader).mode == "full"  # auto: TypeError here
    sql(mysql_settings, database, "INSERT INTO t VALUES (3, 3.5)")
    second = run(
        c, mysql_settings, lake, database, reader=reader
    )  # raises ExtractFailed: ArrowInvalid ... Decimal ... double
    assert (second.status, second.rows) == ("committed", 1)


# The contract widens a column (INT -> BIGINT, MySQL altered alike). _plan does not compare the
# manifest's columns with the contract, so an incremental batch with int64 lands next to int32
# files: read_current (and the next incremental) then fail on concat_tables.
def test_widened_column_then_incremental(mysql_settings: MySQLSettings, database: str, tmp_path: Path) -> None:
    cols = [
        {"name": "id", "type": "INT", "nullable": False},
        {"name": "qty", "type": "INT", "nullable": False},
        {"name": "updated_at", "type": "DATETIME(6)", "nullable": False},
    ]
    c1 = contract(cols, "updated_at")
    create_table(mysql_settings, database, c1.tables[0], [(1, 1, T), (2, 2, T)])
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    run(c1, mysql_settings, lake, database)
    sql(mysql_settings, database, "ALTER TABLE t MODIFY qty BIGINT NOT NULL")
    sql(mysql_settings, database, "UPDATE t SET qty = 5000000000, updated_at = %s WHERE id = 2", T)
    c2 = contract([cols[0], {**cols[1], "type": "BIGINT"}, cols[2]], "updated_at")
    result = run(c2, mysql_settings, lake, database)
    rows = lakebatches.read_current(lake, "shop", "t").sort_by("id").to_pylist()  # ArrowInvalid: schemas differ
    assert [r["qty"] for r in rows] == [1, 5000000000], result


# The contract gains a nullable column: the incremental run fails with a bare KeyError (the
# lake window lacks the column) instead of taking a full snapshot, on every run.
def test_added_column_then_incremental(mysql_settings: MySQLSettings, database: str, tmp_path: Path) -> None:
    cols = [
        {"name": "id", "type": "INT", "nullable": False},
        {"name": "updated_at", "type": "DATETIME(6)", "nullable": False},
    ]
    c1 = contract(cols, "updated_at")
    create_table(mysql_settings, database, c1.tables[0], [(1, T), (2, T)])
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    run(c1, mysql_settings, lake, database)
    sql(mysql_settings, database, "ALTER TABLE t ADD COLUMN note VARCHAR(10) NULL")
    c2 = contract([*cols, {"name": "note", "type": "VARCHAR(10)"}], "updated_at")
    result = run(c2, mysql_settings, lake, database)  # ExtractFailed: "KeyError: 'note'"
    assert result.status in ("committed", "unchanged")


# A nullable cursor (the contract allows it): `full` reads `cursor <= MAX(cursor)`, which drops
# every row whose cursor is NULL, and COUNT(*) over the same range reconciles it silently.
def test_full_snapshot_keeps_rows_with_a_null_cursor(
    mysql_settings: MySQLSettings, database: str, tmp_path: Path
) -> None:
    c = contract(
        [
            {"name": "id", "type": "INT", "nullable": False},
            {"name": "updated_at", "type": "DATETIME(6)"},
        ],
        "updated_at",
    )
    create_table(mysql_settings, database, c.tables[0], [(1, T), (2, None)])
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    result = run(c, mysql_settings, lake, database, mode="full")
    ids = sorted(lakebatches.read_current(lake, "shop", "t")["id"].to_pylist())
    assert ids == [1, 2], f"lake holds {ids}, MySQL holds [1, 2]; result rows={result.rows}"


# Collations: MySQL compares keys by collation (case-insensitive `_ci`, and PAD SPACE: even the
# loader's utf8mb4_bin ignores trailing spaces), Arrow byte by byte. A key not yet in the lake
# ('a', a late insert) is renamed to 'A' / 'a ' (stamped in the window) between the key scan and
# the read: the read returns the new key, `missing()` still lists 'a' (not byte-equal to a read
# key), and `fetch_rows(IN ('a'))` returns the same MySQL row again. One batch holds that key
# twice, and read_current's semi-join on (key, rank) keeps both rows, for good.
@pytest.mark.parametrize(("collation", "renamed"), [("utf8mb4_general_ci", "A"), ("utf8mb4_bin", "a ")])
def test_one_key_once_when_it_is_renamed_during_the_extract(
    collation: str,
    renamed: str,
    mysql_settings: MySQLSettings,
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = contract(
        [
            {"name": "code", "type": "VARCHAR(10)", "nullable": False},
            {"name": "updated_at", "type": "DATETIME(6)", "nullable": False},
        ],
        "updated_at",
        key=["code"],
    )
    create_table(mysql_settings, database, c.tables[0], [("x", T)])
    sql(mysql_settings, database, f"ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    run(c, mysql_settings, lake, database)
    sql(mysql_settings, database, "INSERT INTO t VALUES ('a', %s)", T - dt.timedelta(days=30))  # a late insert

    scan = changes.mysql_keys

    def scan_then_rename(*args: Any, **kwargs: Any) -> pa.Table:
        keys = scan(*args, **kwargs)
        sql(mysql_settings, database, "UPDATE t SET code = %s, updated_at = %s WHERE code = 'a'", renamed, T)
        return keys

    monkeypatch.setattr(changes, "mysql_keys", scan_then_rename)
    run(c, mysql_settings, lake, database)
    monkeypatch.undo()
    in_mysql = sorted(r[0] for r in sql(mysql_settings, database, "SELECT code FROM t"))
    after = sorted(lakebatches.read_current(lake, "shop", "t")["code"].to_pylist())
    again = run(c, mysql_settings, lake, database)  # a later run does not repair it
    later = sorted(lakebatches.read_current(lake, "shop", "t")["code"].to_pylist())
    assert (after, later) == (in_mysql, in_mysql), again


# Row-group pruning by statistics never happens for a DATETIME cursor: the statistics are
# aware datetimes, the watermark is naive, `_at_least` hits TypeError and keeps every group.
def test_window_prunes_row_groups_of_a_datetime_cursor(tmp_path: Path) -> None:
    times = pa.array([T - dt.timedelta(days=10), T], pa.timestamp("us", tz="UTC"))
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": [1, 2], "updated_at": times}), path, row_group_size=1)
    low = changes.low_bound(dt.datetime.fromisoformat("2024-01-02 10:00:00"), 3600)  # as _plan computes it
    groups = lakebatches._groups_since(pq.ParquetFile(path), ("updated_at", low))
    assert groups == [1], groups


# Composite primary keys of every type, and a late insert (stamped before the window) that only
# the key comparison can find: `fetch_rows` renders the key values as SQL literals for connectorx,
# and `mysql_arrow.literal` refuses floats, so a DOUBLE key column fails the run.
@pytest.mark.parametrize("with_double", [False, True])
def test_late_insert_with_a_composite_key(
    with_double: bool, mysql_settings: MySQLSettings, database: str, tmp_path: Path
) -> None:
    columns = [
        {"name": "d", "type": "DATE", "nullable": False},
        {"name": "ts", "type": "DATETIME(6)", "nullable": False},
        {"name": "amt", "type": "DECIMAL(10,2)", "nullable": False},
        {"name": "flag", "type": "BOOLEAN", "nullable": False},
        {"name": "code", "type": "VARCHAR(10)", "nullable": False},
        {"name": "updated_at", "type": "DATETIME(6)", "nullable": False},
    ]
    key = ["d", "ts", "amt", "flag", "code"]
    if with_double:
        columns.insert(0, {"name": "x", "type": "DOUBLE", "nullable": False})
        key.insert(0, "x")
    c = contract(columns, "updated_at", key=key)
    first = (dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 1, 2, 3, 456789), Decimal("1.50"), True, "it's", T)
    late = (
        dt.date(2023, 1, 1),
        dt.datetime(2023, 1, 1, 0, 0, 0, 1),
        Decimal("-2.25"),
        False,
        "b\\c",
        T - dt.timedelta(days=90),
    )
    rows = [((0.1,) if with_double else ()) + first]
    create_table(mysql_settings, database, c.tables[0], rows)
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    run(c, mysql_settings, lake, database)
    marks = ", ".join(["%s"] * len(columns))
    sql(mysql_settings, database, f"INSERT INTO t VALUES ({marks})", *(((0.2,) if with_double else ()) + late))
    second = run(c, mysql_settings, lake, database)  # with a DOUBLE key: TypeError: refusing to render float
    assert (second.rows, lakebatches.read_current(lake, "shop", "t").num_rows) == (1, 2)


# Batch ids are wall-clock times of the machine that runs the extract, and "newest" is the
# greatest id. An extract whose clock is behind the previous one's (another Airflow worker with
# a skewed clock, an NTP step back) writes a batch that sorts *before* the latest: after a full
# snapshot it is not even part of the current state, so its changes are lost.
def test_a_batch_from_a_clock_behind_the_previous_one(
    mysql_settings: MySQLSettings, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.extract.commit as extract_module

    c = contract(
        [
            {"name": "id", "type": "INT", "nullable": False},
            {"name": "qty", "type": "INT", "nullable": False},
            {"name": "updated_at", "type": "DATETIME(6)", "nullable": False},
        ],
        "updated_at",
    )
    create_table(mysql_settings, database, c.tables[0], [(1, 1, T)])
    lake = lakes.resolve_lake_uri(str(tmp_path / "lake"))
    run(c, mysql_settings, lake, database, mode="full")
    sql(mysql_settings, database, "UPDATE t SET qty = 2, updated_at = %s WHERE id = 1", T + dt.timedelta(minutes=1))

    class Behind(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Behind:  # type: ignore[override]
            return super().now(tz) - dt.timedelta(seconds=30)  # this worker's clock is 30 s behind

    monkeypatch.setattr(extract_module, "datetime", Behind)
    second = run(c, mysql_settings, lake, database)
    assert second.status == "committed"
    assert lakebatches.read_current(lake, "shop", "t")["qty"].to_pylist() == [2]
