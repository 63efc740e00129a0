"""The parts of the extract that need no MySQL and no lake server: the watermark codec (a batch's
watermark is text in its manifest, and the next run binds it again as a value of its column), the
incremental plan given the current batches' manifests, the Parquet writer's row groups and files,
the failure summary's branch, and the options refused before any connection."""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.core import lake as lakes
from ingest.core.contract import Contract, SqlType, Table
from ingest.core.errors import DataError, TransientError
from ingest.core.lake import LakeError
from ingest.core.mysql import MySQLUnavailable
from ingest.core.settings import MySQLSettings
from ingest.core.types import INTEGER_RANGES
from ingest.extract import (
    ExtractError,
    ExtractFailed,
    ExtractInterrupted,
    ExtractOptions,
    TableFailures,
    extract_dataset,
)
from ingest.extract.batches import FORMAT_VERSION, ColumnEntry, Manifest, Watermark
from ingest.extract.parquet_writer import PartWriter
from ingest.extract.plan import Plan, plan_incremental
from ingest.extract.watermarks import decode_value, encode_value

# -- the watermark codec -----------------------------------------------------------------

INTEGERS = ("TINYINT", "SMALLINT", "INT", "BIGINT")
assert set(INTEGERS) == set(INTEGER_RANGES)  # every integer type of the contract


def _round_trips(value: object, sql_type: SqlType) -> object:
    text = encode_value(value)
    assert isinstance(text, str)
    decoded = decode_value(text, sql_type)
    assert type(decoded) is type(value), (value, text, decoded)
    assert decoded == value, (value, text, decoded)
    return decoded


@given(st.data(), st.sampled_from(INTEGERS))
def test_integers_of_every_width_round_trip(data: st.DataObject, base: str) -> None:
    low, high = INTEGER_RANGES[base]
    _round_trips(data.draw(st.integers(low, high)), SqlType.parse(base))


@given(st.sampled_from([0, 1]), st.sampled_from(["BOOLEAN", "BOOL"]))
def test_booleans_round_trip_as_mysql_returns_them(value: int, spelled: str) -> None:
    # A BOOLEAN is a TINYINT(1): MAX(cursor) comes back from MySQL as 0 or 1.
    _round_trips(value, SqlType.parse(spelled))


@st.composite
def decimals_of_their_type(draw: st.DrawFn) -> tuple[SqlType, Decimal]:
    precision = draw(st.integers(1, 65))
    scale = draw(st.integers(0, min(precision, 30)))
    digits = draw(st.integers(-(10**precision - 1), 10**precision - 1))
    return SqlType.parse(f"DECIMAL({precision},{scale})"), Decimal(f"{digits}E-{scale}")  # exact, as MySQL sends


@given(decimals_of_their_type())
def test_decimals_round_trip_with_their_scale(case: tuple[SqlType, Decimal]) -> None:
    sql_type, value = case
    decoded = _round_trips(value, sql_type)
    assert isinstance(decoded, Decimal)
    assert decoded.as_tuple() == value.as_tuple()  # same digits and exponent, not merely equal


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["DOUBLE", "FLOAT"]))
def test_finite_doubles_round_trip_exactly(value: float, spelled: str) -> None:
    decoded = _round_trips(value, SqlType.parse(spelled))
    assert isinstance(decoded, float)
    assert math.copysign(1.0, decoded) == math.copysign(1.0, value)  # -0.0 stays -0.0


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)))
def test_dates_round_trip(value: date) -> None:
    _round_trips(value, SqlType.parse("DATE"))


@st.composite
def datetimes_of_their_type(draw: st.DrawFn) -> tuple[SqlType, datetime]:
    base = draw(st.sampled_from(["DATETIME", "TIMESTAMP"]))
    fsp = draw(st.integers(0, 6))
    zone = draw(st.sampled_from([UTC, None]))  # aware UTC instants, and the naive values pymysql returns
    moment = draw(
        st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999_999))
    ).replace(tzinfo=zone)
    moment = moment.replace(microsecond=moment.microsecond - moment.microsecond % 10 ** (6 - fsp))
    return SqlType.parse(f"{base}({fsp})" if fsp else base), moment


@given(datetimes_of_their_type())
def test_datetimes_round_trip_with_their_microseconds_and_zone(case: tuple[SqlType, datetime]) -> None:
    sql_type, value = case
    decoded = _round_trips(value, sql_type)
    assert isinstance(decoded, datetime)
    assert decoded.utcoffset() == value.utcoffset()
    assert decoded.microsecond == value.microsecond


@given(st.sampled_from(["CHAR(20)", "VARCHAR(255)", "TEXT"]), st.text(max_size=20))
def test_text_round_trips_untouched(spelled: str, value: str) -> None:
    _round_trips(value, SqlType.parse(spelled))


def test_a_datetime_is_not_encoded_as_a_date() -> None:
    # datetime is a subclass of date: the time of day must survive the encoding.
    moment = datetime(2024, 1, 2, 10, 30, 0, 250_000)
    assert decode_value(encode_value(moment), SqlType.parse("DATETIME(6)")) == moment
    assert "10:30" in encode_value(moment)


def test_watermarks_written_by_earlier_runs_still_decode() -> None:
    # Manifests on disk hold the space-separated ISO form; the next run must read them back.
    assert decode_value("2024-01-02 10:00:00", SqlType.parse("DATETIME")) == datetime(2024, 1, 2, 10)
    assert decode_value("2024-01-02 10:00:00.000001+00:00", SqlType.parse("TIMESTAMP(6)")) == datetime(
        2024, 1, 2, 10, 0, 0, 1, tzinfo=UTC
    )
    assert decode_value("2024-02-29", SqlType.parse("DATE")) == date(2024, 2, 29)
    assert decode_value("15.20", SqlType.parse("DECIMAL(15,2)")) == Decimal("15.2")


# -- the incremental plan ----------------------------------------------------------------


def _table(columns: list[tuple[str, str]], key: list[str], cursor: str | None) -> Table:
    return Table.model_validate(
        {
            "name": "orders",
            "files": "orders.csv",
            "columns": [{"name": n, "type": t, "nullable": n not in key} for n, t in columns],
            "primary_key": key,
            "cursor": cursor,
        }
    )


ORDERS = _table([("id", "INT"), ("qty", "INT"), ("updated_at", "DATETIME(6)")], ["id"], "updated_at")


def _manifest(
    table: Table,
    high: str | None,
    *,
    mode: str = "full",
    cursor: str | None = None,
    format_version: int = FORMAT_VERSION,
    batch: str = "20240101T000000000000Z-000000",
) -> Manifest:
    """What a batch of `table` committed under its contract then, with `high` as its watermark."""
    column = cursor or table.cursor
    watermark = None
    if column is not None:
        watermark = Watermark(column=column, type=str(table.column(column).type), low=None, high=high)
    return Manifest.model_validate(
        {
            "format_version": format_version,
            "dataset": "shop",
            "table": table.name,
            "batch": batch,
            "mode": mode,
            "source_database": "shop",
            "reader": "pymysql",
            "started_at": "2024-01-01T00:00:00+00:00",
            "committed_at": "2024-01-01T00:00:01+00:00",
            "rows": 1,
            "source_rows": 1,
            "primary_key": list(table.primary_key),
            "bytes": 1,
            "compression": "zstd(level 1)",
            "files": [],
            "columns": [
                ColumnEntry(name=c.name, type=str(c.type), arrow="x", nullable=c.nullable) for c in table.columns
            ],
            "watermark": watermark,
        }
    )


DAY = 24 * 3600.0


def test_no_batch_yet_is_a_full_snapshot() -> None:
    plan = plan_incremental(ORDERS, [], DAY)
    assert plan.mode == "full"
    assert (plan.low, plan.high) == (None, None)


def test_an_older_lake_format_is_read_again_in_full() -> None:
    older = _manifest(ORDERS, "2024-01-02 10:00:00", format_version=FORMAT_VERSION - 1)
    assert plan_incremental(ORDERS, [older], DAY).mode == "full"
    # ...but only the newest batch's format decides.
    current = [older, _manifest(ORDERS, "2024-01-03 10:00:00", mode="incremental")]
    assert plan_incremental(ORDERS, current, DAY).mode == "incremental"


def test_the_range_starts_at_the_newest_watermark_minus_the_look_back() -> None:
    current = [
        _manifest(ORDERS, "2024-01-02 10:00:00"),
        _manifest(ORDERS, "2024-01-03 12:00:00.500000", mode="incremental"),
    ]
    plan = plan_incremental(ORDERS, current, 3600)
    assert plan.mode == "incremental"
    assert plan.low == datetime(2024, 1, 3, 11, 0, 0, 500_000)
    assert plan.high is None  # MAX(cursor) is asked of MySQL later
    assert plan_incremental(ORDERS, current, 0).low == datetime(2024, 1, 3, 12, 0, 0, 500_000)


def test_a_numeric_cursor_has_no_look_back() -> None:
    table = _table([("id", "BIGINT"), ("qty", "INT")], ["id"], "id")
    plan = plan_incremental(table, [_manifest(table, "9007199254740993")], DAY)
    assert plan.mode == "incremental"
    assert plan.low == 9007199254740993  # exact: not a float on the way


def test_a_date_cursor_looks_back_whole_days() -> None:
    table = _table([("id", "INT"), ("day", "DATE")], ["id"], "day")
    plan = plan_incremental(table, [_manifest(table, "2024-03-01")], 2 * DAY)
    assert plan.low == date(2024, 2, 28)


def test_an_empty_table_or_another_cursor_reads_every_row() -> None:
    empty = plan_incremental(ORDERS, [_manifest(ORDERS, None)], DAY)
    assert (empty.mode, empty.low) == ("incremental", None)
    other = plan_incremental(ORDERS, [_manifest(ORDERS, "5", cursor="id")], DAY)  # the cursor moved to updated_at
    assert (other.mode, other.low) == ("incremental", None)
    assert other.note and other.note == empty.note


def test_rows_arriving_in_an_empty_table_move_the_watermark_on() -> None:
    current = [_manifest(ORDERS, None), _manifest(ORDERS, "2024-01-02 10:00:00", mode="incremental")]
    assert plan_incremental(ORDERS, current, 0).low == datetime(2024, 1, 2, 10)
    assert plan_incremental(ORDERS, current[::-1], 0).low is None  # the newest batch decides


@pytest.mark.parametrize(
    "changed",
    [
        _table([("id", "BIGINT"), ("qty", "INT"), ("updated_at", "DATETIME(6)")], ["id"], "updated_at"),  # widened
        _table([("id", "INT"), ("qty", "INT"), ("updated_at", "DATETIME(3)")], ["id"], "updated_at"),  # precision
        _table([("id", "INT"), ("amount", "INT"), ("updated_at", "DATETIME(6)")], ["id"], "updated_at"),  # renamed
        _table([("id", "INT"), ("qty", "INT"), ("updated_at", "DATETIME(6)"), ("x", "TEXT")], ["id"], "updated_at"),
        _table([("id", "INT"), ("qty", "INT")], ["id"], "id"),  # dropped
        _table([("id", "INT"), ("qty", "INT"), ("updated_at", "DATETIME(6)")], ["id", "qty"], "updated_at"),  # key
    ],
)
def test_a_changed_contract_takes_a_full_snapshot(changed: Table) -> None:
    held = [_manifest(ORDERS, "2024-01-02 10:00:00")]
    assert plan_incremental(ORDERS, held, DAY).mode == "incremental"
    plan = plan_incremental(changed, held, DAY)
    assert plan.mode == "full"
    assert "contract" in plan.note


def test_a_plan_marks_its_range_as_text() -> None:
    plan = Plan("incremental", low=datetime(2024, 1, 2, 9), high=datetime(2024, 1, 2, 10, 0, 0, 1))
    cursor, low, high = plan.marks(ORDERS)
    assert cursor == "updated_at"
    assert low is not None and high is not None
    assert decode_value(low, ORDERS.column("updated_at").type) == plan.low
    assert decode_value(high, ORDERS.column("updated_at").type) == plan.high
    assert Plan("full").marks(ORDERS) == ("updated_at", None, None)
    assert Plan("full").marks(_table([("id", "INT")], [], None)) == (None, None, None)


def test_the_high_mark_of_a_plan_is_where_the_next_plan_starts() -> None:
    plan = Plan("incremental", low=None, high=datetime(2024, 5, 6, 7, 8, 9, 123_456))
    _, _, high = plan.marks(ORDERS)
    following = plan_incremental(ORDERS, [_manifest(ORDERS, high)], 0)
    assert following.low == plan.high


# -- the Parquet writer ------------------------------------------------------------------

SCHEMA = pa.schema([pa.field("id", pa.int32(), nullable=False), pa.field("name", pa.string())])


def _rows(start: int, count: int) -> pa.RecordBatch:
    ids = list(range(start, start + count))
    return pa.RecordBatch.from_pydict({"id": ids, "name": [f"n{i}" for i in ids]}, schema=SCHEMA)


def _write(folder: Path, sizes: list[int], options: ExtractOptions) -> list[Path]:
    writer = PartWriter(folder, SCHEMA, options)
    start = 0
    for size in sizes:
        writer.add(_rows(start, size))
        start += size
        assert writer.buffered < options.row_group_rows  # at most one row group held in memory
    entries = writer.finish()
    paths = [folder / e.path for e in entries]
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in paths]  # every file described, no other
    for entry, path in zip(entries, paths, strict=True):
        metadata = pq.ParquetFile(path).metadata
        assert (entry.rows, entry.row_groups, entry.bytes) == (
            metadata.num_rows,
            metadata.num_row_groups,
            path.stat().st_size,
        )
        assert entry.crc32c == lakes.file_checksums(path, md5=False)[0]
    return paths


def _groups(paths: list[Path]) -> list[list[int]]:
    return [
        [pq.ParquetFile(p).metadata.row_group(i).num_rows for i in range(pq.ParquetFile(p).num_row_groups)]
        for p in paths
    ]


def _ids(paths: list[Path]) -> list[int]:
    return [i for p in paths for i in pq.read_table(p)["id"].to_pylist()]


def test_row_groups_have_exactly_the_configured_rows(tmp_path: Path) -> None:
    paths = _write(tmp_path, [3, 3, 5], ExtractOptions(row_group_rows=4))
    assert [p.name for p in paths] == ["part-00000.parquet"]
    assert _groups(paths) == [[4, 4, 3]]
    assert _ids(paths) == list(range(11))
    assert pq.read_schema(paths[0]).equals(SCHEMA)


def test_a_new_file_once_one_passes_the_size_limit(tmp_path: Path) -> None:
    paths = _write(tmp_path, [10], ExtractOptions(row_group_rows=4, max_file_bytes=1))
    assert [p.name for p in paths] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert _groups(paths) == [[4], [4], [2]]
    assert _ids(paths) == list(range(10))


def test_no_empty_file_after_a_full_last_group(tmp_path: Path) -> None:
    paths = _write(tmp_path, [4, 4], ExtractOptions(row_group_rows=4, max_file_bytes=1))
    assert _groups(paths) == [[4], [4]]


def test_an_empty_batch_still_has_one_file_with_the_schema(tmp_path: Path) -> None:
    paths = _write(tmp_path, [], ExtractOptions())
    assert len(paths) == 1
    assert pq.read_table(paths[0]).num_rows == 0
    assert pq.read_schema(paths[0]).equals(SCHEMA)
    (tmp_path / "zeros").mkdir()
    assert [pq.read_table(p).num_rows for p in _write(tmp_path / "zeros", [0, 0], ExtractOptions())] == [0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=8), st.integers(1, 6), st.sampled_from([1, 10**9]))
def test_any_stream_keeps_its_rows_in_order_in_full_groups(sizes: list[int], group: int, limit: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = _write(Path(folder), sizes, ExtractOptions(row_group_rows=group, max_file_bytes=limit))
        assert _ids(paths) == list(range(sum(sizes)))
        flat = [n for groups in _groups(paths) for n in groups]
        if sum(sizes):
            assert all(n == group for n in flat[:-1]) and 1 <= flat[-1] <= group
        else:
            assert flat in ([], [0])


# -- failures and options ----------------------------------------------------------------


def test_any_transient_failure_makes_the_command_retryable() -> None:
    errors: dict[str, BaseException] = {"a": ExtractError("bad column"), "b": MySQLUnavailable("gone")}
    failure = TableFailures.of(errors, [])
    assert isinstance(failure, ExtractInterrupted) and isinstance(failure, TransientError)
    assert not isinstance(failure, DataError)
    assert failure.errors == {"a": "bad column", "b": "gone"}
    assert failure.exceptions == errors
    assert "a: bad column" in str(failure) and "b: gone" in str(failure) and str(failure).startswith("2 ")


def test_data_failures_only_are_not_retried() -> None:
    failure = TableFailures.of({"a": ExtractError("bad column"), "b": ValueError("bug")}, [])
    assert isinstance(failure, ExtractFailed) and isinstance(failure, ExtractError) and isinstance(failure, DataError)
    assert not isinstance(failure, TransientError)


CONTRACT = Contract.model_validate(
    {"dataset": "shop", "tables": [{"name": "t", "files": "t.csv", "columns": [{"name": "id", "type": "INT"}]}]}
)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (ExtractOptions(mode="bogus"), "--mode must be full, incremental or cdc"),  # type: ignore[arg-type]
        (ExtractOptions(reader="nope"), "--reader must be one of"),
        (ExtractOptions(workers=0), "workers must be at least 1"),
        (ExtractOptions(keep=0), "keep must be at least 1"),
        (ExtractOptions(batch_rows=0), "batch-rows must be at least 1"),
        (ExtractOptions(row_group_rows=0), "row-group-rows must be at least 1"),
        (ExtractOptions(max_file_bytes=0), "max-file-bytes must be at least 1"),
        (ExtractOptions(grace_seconds=-1), "grace cannot be negative"),
        (ExtractOptions(lookback_seconds=-0.5), "lookback cannot be negative"),
    ],
)
def test_bad_options_are_refused_before_any_connection(options: ExtractOptions, message: str, tmp_path: Path) -> None:
    nowhere = MySQLSettings(host="127.0.0.1", port=9)  # nothing listens: a connection would fail otherwise
    with pytest.raises(ExtractError, match=message):
        extract_dataset(CONTRACT, nowhere, str(tmp_path / "lake"), options)
    assert not (tmp_path / "lake").exists()


def test_zero_look_back_and_grace_pass_the_options_check() -> None:
    # Not refused: the command goes on to the lake (here an unusable URI, so nothing connects).
    options = ExtractOptions(grace_seconds=0, lookback_seconds=0, mode="incremental")
    with pytest.raises(LakeError, match="unsupported lake URI"):
        extract_dataset(CONTRACT, MySQLSettings(host="127.0.0.1", port=9), "ftp://nowhere", options)
