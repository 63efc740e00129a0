"""The lake's batch rules (`ingest.extract.batches`) on a local lake built by hand: batch ids and
their order, which committed batches are current, what a reader sees of them (newest version per
key, tombstones), retention, and DuckDB's recipe agreeing with `read_current`. No MySQL."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.core import lake as lakes
from ingest.core.contract import Table
from ingest.core.lake import Lake, LakeError
from ingest.extract import batches
from ingest.extract.batches import DELETED, MANIFEST, Batch, ColumnEntry, FileEntry, Manifest
from ingest.extract.changes import file_schema

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _table(key: list[str]) -> Table:
    return Table.model_validate(
        {
            "name": "t",
            "files": "t.csv",
            "columns": [{"name": "id", "type": "INT", "nullable": not key}, {"name": "qty", "type": "INT"}],
            "primary_key": key,
        }
    )


KEYED, KEYLESS = _table(["id"]), _table([])


def _manifest(batch_id: str, mode: str, table: Table, files: list[FileEntry], committed: datetime) -> Manifest:
    return Manifest.model_validate(
        {
            "dataset": "shop",
            "table": table.name,
            "batch": batch_id,
            "mode": mode,
            "source_database": "shop",
            "reader": "pymysql",
            "started_at": committed.isoformat(),
            "committed_at": committed.isoformat(),
            "rows": sum(f.rows for f in files),
            "source_rows": sum(f.rows for f in files),
            "primary_key": list(table.primary_key),
            "bytes": sum(f.bytes for f in files),
            "compression": "zstd(level 1)",
            "files": files,
            "columns": [
                ColumnEntry(name=c.name, type=str(c.type), arrow="int32", nullable=c.nullable) for c in table.columns
            ],
            "watermark": None,
        }
    )


class Lakeside:
    """A local lake holding table shop.t, and batches written into it as an extract would leave them."""

    def __init__(self, root: Path, table: Table = KEYED) -> None:
        self.lake: Lake = lakes.parse_lake(str(root))
        self.table = table
        self.count = 0

    def batch(
        self,
        mode: str,
        rows: Sequence[tuple[int, int]] = (),
        deleted: Sequence[int] = (),
        *,
        committed: bool = True,
        at: datetime | None = None,
    ) -> str:
        """A batch of `rows` (id, qty) and tombstones for `deleted` ids, the next in id order."""
        self.count += 1
        moment = at or T0 + timedelta(minutes=self.count)
        batch_id = batches.new_batch_id(moment)
        folder = lakes.url(self.lake, batches.batch_prefix("shop", self.table.name, batch_id))
        Path(folder).mkdir(parents=True)
        schema = file_schema(self.table)
        ids = [r[0] for r in rows] + list(deleted)
        data = pa.table(
            {
                "id": ids,
                "qty": [r[1] for r in rows] + [None] * len(deleted),
                DELETED: [False] * len(rows) + [True] * len(deleted),
            },
            schema=schema,
        )
        path = Path(folder) / "part-00000.parquet"
        pq.write_table(data, path)
        entry = FileEntry(path=path.name, rows=data.num_rows, bytes=path.stat().st_size, row_groups=1, crc32c="-")
        if committed:
            manifest = _manifest(batch_id, mode, self.table, [entry], moment)
            (Path(folder) / MANIFEST).write_bytes(manifest.to_json())
        return batch_id

    def ids(self) -> list[str]:
        return [b.id for b in batches.current_batches(self.lake, "shop", self.table.name)]

    def rows(self, **kwargs: object) -> list[tuple[int, int]]:
        current = batches.read_current(self.lake, "shop", self.table.name, **kwargs)  # type: ignore[arg-type]
        return sorted(zip(current["id"].to_pylist(), current["qty"].to_pylist(), strict=True))

    def duckdb_rows(self) -> list[tuple[int, int]]:
        with duckdb.connect() as conn:
            return sorted(conn.execute(batches.duckdb_sql(self.lake, "shop", self.table.name)).fetchall())


@pytest.fixture
def lake(tmp_path: Path) -> Lakeside:
    return Lakeside(tmp_path / "lake")


# -- batch ids -----------------------------------------------------------------------------


def test_a_batch_id_is_the_utc_time_to_the_microsecond_and_six_hex_digits() -> None:
    moment = datetime(2024, 3, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    batch_id = batches.new_batch_id(moment)
    assert re.fullmatch(r"20240301T100000000005Z-[0-9a-f]{6}", batch_id), batch_id
    assert batches.batch_prefix("shop", "orders", batch_id) == f"raw/shop/orders/batch={batch_id}"


MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@given(MOMENTS, MOMENTS)
def test_batch_ids_sort_in_time_order(a: datetime, b: datetime) -> None:
    if a != b:
        assert (batches.new_batch_id(a) < batches.new_batch_id(b)) == (a < b)


def _existing(*ids: str) -> list[Batch]:
    return [Batch(id=i, prefix=f"raw/shop/t/batch={i}", manifest=_manifest(i, "full", KEYED, [], T0)) for i in ids]


def test_a_clock_behind_the_newest_batch_still_sorts_after_it() -> None:
    newest = batches.new_batch_id(T0 + timedelta(hours=1))
    following = batches.next_batch_id(_existing(batches.new_batch_id(T0), newest), now=T0)
    assert following > newest
    assert following.startswith(batches.new_batch_id(T0 + timedelta(hours=1, microseconds=1)).split("-")[0] + "-")
    ahead = batches.next_batch_id(_existing(newest), now=T0 + timedelta(days=1))
    assert ahead.split("-")[0] == batches.new_batch_id(T0 + timedelta(days=1)).split("-")[0]  # the clock, when ahead


@given(st.lists(MOMENTS, min_size=1, max_size=5), MOMENTS)
def test_the_next_batch_id_sorts_after_every_existing_one(moments: list[datetime], now: datetime) -> None:
    existing = _existing(*(batches.new_batch_id(m) for m in moments))
    assert batches.next_batch_id(existing, now) > max(b.id for b in existing)


def test_a_manifest_is_one_line_of_json_that_reads_back() -> None:
    manifest = _manifest(
        "x", "incremental", KEYED, [FileEntry(path="p", rows=1, bytes=2, row_groups=1, crc32c="c")], T0
    )
    text = manifest.to_json()
    assert text.endswith(b"\n") and text.count(b"\n") == 1
    assert Manifest.model_validate_json(text) == manifest


# -- which batches are current ---------------------------------------------------------------


def test_current_is_the_latest_full_batch_and_the_incrementals_after_it(lake: Lakeside) -> None:
    a = lake.batch("full", [(1, 1)])
    b = lake.batch("incremental", [(2, 2)])
    c = lake.batch("full", [(1, 1)])
    d = lake.batch("incremental", [(3, 3)])
    e = lake.batch("incremental", [(4, 4)])
    lake.batch("full", [(9, 9)], committed=False)  # newest, but no manifest: invisible
    assert [x.id for x in batches.committed_batches(lake.lake, "shop", "t")] == [a, b, c, d, e]
    assert lake.ids() == [c, d, e]
    assert lake.rows() == [(1, 1), (3, 3), (4, 4)]


def test_without_a_full_batch_every_committed_batch_is_current(lake: Lakeside) -> None:
    a = lake.batch("incremental", [(1, 1)])
    b = lake.batch("incremental", [(2, 2)])
    assert lake.ids() == [a, b]


def test_an_uncommitted_newest_full_batch_does_not_hide_the_older_one(lake: Lakeside) -> None:
    a = lake.batch("full", [(1, 1)])
    lake.batch("full", [(2, 2)], committed=False)
    b = lake.batch("incremental", [(3, 3)])
    assert lake.ids() == [a, b]
    assert lake.rows() == [(1, 1), (3, 3)]


def test_a_table_with_no_committed_batch_is_an_error_not_an_empty_table(lake: Lakeside) -> None:
    with pytest.raises(LakeError, match="no committed batch"):
        batches.read_current(lake.lake, "shop", "t")
    lake.batch("full", [(1, 1)], committed=False)
    with pytest.raises(LakeError, match="no committed batch"):
        batches.read_current(lake.lake, "shop", "t")


def test_a_committed_batch_with_a_missing_or_resized_file_is_damaged(lake: Lakeside) -> None:
    batch_id = lake.batch("full", [(1, 1)])
    part = Path(lakes.url(lake.lake, batches.batch_prefix("shop", "t", batch_id))) / "part-00000.parquet"
    part.write_bytes(part.read_bytes() + b"x")
    with pytest.raises(LakeError, match="damaged"):
        batches.current_batches(lake.lake, "shop", "t")
    part.unlink()
    with pytest.raises(LakeError, match="damaged"):
        batches.current_batches(lake.lake, "shop", "t")


# -- what a reader sees ----------------------------------------------------------------------


def test_the_newest_version_of_each_key_wins_and_tombstones_delete(lake: Lakeside) -> None:
    lake.batch("full", [(1, 10), (2, 20), (3, 30), (5, 50)])
    lake.batch("incremental", [(2, 21)], deleted=[3, 5])
    lake.batch("incremental", [(3, 33), (4, 40)])  # 3 inserted again after its delete
    assert lake.rows() == [(1, 10), (2, 21), (3, 33), (4, 40)]
    keys = batches.current_keys(lake.lake, "shop", "t")
    assert sorted(keys["id"].to_pylist()) == [1, 2, 3, 4]
    assert lake.duckdb_rows() == lake.rows()


def test_within_one_batch_a_row_wins_over_a_tombstone_of_its_key(lake: Lakeside) -> None:
    # The key scan (tombstones) runs before the rows are read: a key deleted and inserted again
    # in between has both in one batch, and it exists.
    lake.batch("full", [(1, 10), (2, 20)])
    lake.batch("incremental", [(1, 11)], deleted=[1, 2])
    assert lake.rows() == [(1, 11)]
    assert lake.duckdb_rows() == lake.rows()


def test_a_full_batch_replaces_everything_before_it(lake: Lakeside) -> None:
    lake.batch("full", [(1, 10), (2, 20)])
    lake.batch("incremental", [(3, 30)], deleted=[1])
    lake.batch("full", [(2, 22), (7, 70)])
    assert lake.rows() == [(2, 22), (7, 70)]
    assert lake.duckdb_rows() == lake.rows()


def test_since_never_returns_a_superseded_version(lake: Lakeside) -> None:
    lake.batch("full", [(1, 10), (2, 20)])
    lake.batch("incremental", [(1, 5)])  # key 1's newest version is below the bound; its older one is not
    assert lake.rows(since=("qty", 8)) == [(2, 20)]
    assert lake.rows(since=("qty", 5)) == [(1, 5), (2, 20)]


def test_a_table_without_a_key_is_its_latest_full_batch_as_it_is(tmp_path: Path) -> None:
    lake = Lakeside(tmp_path / "lake", KEYLESS)
    lake.batch("full", [(1, 1)])
    lake.batch("full", [(2, 2), (2, 2), (3, 3)])  # rows of a keyless table may repeat
    assert lake.rows() == [(2, 2), (2, 2), (3, 3)]
    assert lake.duckdb_rows() == lake.rows()
    with pytest.raises(LakeError, match="no primary key"):
        batches.current_keys(lake.lake, "shop", "t")


# -- cleaning and retention ------------------------------------------------------------------


def test_only_batches_without_a_manifest_are_uncommitted(lake: Lakeside) -> None:
    kept = lake.batch("full", [(1, 1)])
    left = lake.batch("incremental", [(2, 2)], committed=False)
    assert batches.remove_uncommitted(lake.lake, "shop", "t") == [left]
    assert lake.ids() == [kept]
    assert not Path(lakes.url(lake.lake, batches.batch_prefix("shop", "t", left))).exists()
    assert batches.remove_uncommitted(lake.lake, "shop", "t") == []


def test_retention_keeps_full_snapshots_and_waits_out_the_grace(lake: Lakeside) -> None:
    old_full = lake.batch("full", [(1, 1)], at=T0)
    old_incremental = lake.batch("incremental", [(2, 2)], at=T0 + timedelta(hours=1))
    kept_full = lake.batch("full", [(1, 1)], at=T0 + timedelta(hours=2))  # supersedes both
    newest = lake.batch("full", [(1, 1)], at=T0 + timedelta(hours=3))
    grace = timedelta(hours=24)
    superseded = T0 + timedelta(hours=2)

    assert batches.apply_retention(lake.lake, "shop", "t", keep=3, grace=grace, now=superseded + 2 * grace) == []
    assert (
        batches.apply_retention(lake.lake, "shop", "t", 2, grace, now=superseded + grace - timedelta(seconds=1)) == []
    )
    assert len(batches.committed_batches(lake.lake, "shop", "t")) == 4

    removed = batches.apply_retention(lake.lake, "shop", "t", 2, grace, now=superseded + grace)
    assert removed == [old_full, old_incremental]
    assert [b.id for b in batches.committed_batches(lake.lake, "shop", "t")] == [kept_full, newest]
    for gone in removed:
        assert not Path(lakes.url(lake.lake, batches.batch_prefix("shop", "t", gone))).exists()
    with pytest.raises(ValueError):
        batches.apply_retention(lake.lake, "shop", "t", 0, grace)
