"""What an incremental extract adds to a table's current state in the lake, so that nothing is lost.

An incremental batch holds, against the lake's current state (`batches.read_current`):
1. the rows whose cursor is at or after `low`, the last batch's high watermark minus the look-back
   window (`--lookback`, for date and time cursors): corrections and late rows stamped within the
   window, and the rows stamped exactly at the watermark (the bound is inclusive);
2. minus the rows the lake already holds unchanged (compared on every column), so a quiet table
   writes nothing and re-reading the window costs no lake space;
3. plus the rows of keys that MySQL has and the lake lacks, whatever their stamp (a late insert
   stamped before the window), found by comparing the two key sets;
4. plus a tombstone (`_lh_deleted` true, the key and nulls) for each key the lake holds and MySQL
   no longer has: a delete.
The key scan runs before the rows are read, so a key deleted and inserted again in between gets a
row and a tombstone in one batch: the row wins (the reader's rule). What this mode cannot see: an
*update* stamped before the look-back window; a full snapshot (or a shorter cadence) repairs it.

Cost: one scan of the primary key in MySQL and of the key columns in the lake per run, plus the
window's rows (row groups pruned by their statistics); memory holds the two key sets. Without the
key comparison (`--no-compare-keys`) only 1 and 2 remain: cheaper, and blind to deletes and to
late inserts stamped before the window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from ingest.core.contract import Table
from ingest.core.lake import Lake
from ingest.core.settings import MySQLSettings
from ingest.extract import batches as lakebatches
from ingest.extract.batches import DELETED
from ingest.extract.mysql_arrow import Condition, arrow_schema, read_batches

FETCH_KEYS = 1_000  # keys per `(k1, k2) IN (...)` query when fetching rows the lake lacks


def file_schema(table: Table) -> pa.Schema:
    """The Parquet files' schema: the contract's columns, then `_lh_deleted`. Only key columns are
    NOT NULL: a tombstone holds nothing but its key."""
    key = set(table.primary_key)
    fields = [f.with_nullable(f.nullable or f.name not in key) for f in arrow_schema(table)]
    return pa.schema([*fields, pa.field(DELETED, pa.bool_(), nullable=False)])


def as_rows(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A reader's batch in the file schema (`_lh_deleted` false)."""
    deleted = pa.array([False] * batch.num_rows, pa.bool_())
    return pa.RecordBatch.from_arrays([*batch.columns, deleted], schema=schema)


def key_table(table: Table) -> Table:
    """The table narrowed to its primary-key columns (for key scans and key lookups)."""
    return table.model_copy(update={"columns": [table.column(k) for k in table.primary_key], "cursor": None})


def mysql_keys(reader: str, settings: MySQLSettings, database: str, table: Table, batch_rows: int) -> pa.Table:
    """Every primary key MySQL holds now."""
    keys = key_table(table)
    batches = list(read_batches(reader, settings, database, keys, Condition(), batch_rows))
    return pa.Table.from_batches(batches, schema=arrow_schema(keys))


class Changes:
    """The lake's side of one incremental extract: its live keys and the rows of its window."""

    def __init__(self, lake: Lake, dataset: str, table: Table, low: object | None, *, keys: bool = True) -> None:
        self.table = table
        self.key = list(table.primary_key)
        self.schema = arrow_schema(table)
        live = lakebatches.current_keys(lake, dataset, table.name)
        self.lake_keys = live.select(self.key) if keys else None
        if isinstance(low, dt.datetime) and low.tzinfo is None:
            low = low.replace(tzinfo=dt.UTC)  # the files hold UTC instants (see mysql_arrow)
        since = None if low is None or table.cursor is None else (table.cursor, low)
        window = lakebatches.read_current(lake, dataset, table.name, since=since, live_keys=live)
        self.window = null_safe(window.select(self.schema.names).cast(self.schema))
        self.read_keys: list[pa.Table] = []

    def unchanged_dropped(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch without the rows the lake already holds exactly (and remember its keys)."""
        rows = pa.Table.from_batches([batch], schema=self.schema)
        self.read_keys.append(rows.select(self.key))
        if not self.window.num_rows or not rows.num_rows:
            return batch
        compared = null_safe(rows).append_column("_lh_index", pa.array(range(rows.num_rows), pa.int64()))
        names = [n for n in compared.column_names if n != "_lh_index"]
        # Arrow builds its hash table on the right side: the batch, not the (larger) window.
        fresh = self.window.join(compared, keys=names, join_type="right anti", use_threads=False)
        if not fresh.num_rows:
            return batch.slice(0, 0)
        kept = pc.sort_indices(fresh["_lh_index"])  # keep MySQL's order: take the rows in index order
        return batch.take(fresh["_lh_index"].combine_chunks().take(kept))

    def missing(self, in_mysql: pa.Table) -> pa.Table:
        """Keys MySQL has that neither the lake nor this batch's reads have."""
        assert self.lake_keys is not None
        absent = in_mysql.join(self.lake_keys, keys=self.key, join_type="left anti", use_threads=False)
        if self.read_keys and absent.num_rows:
            seen = pa.concat_tables(self.read_keys)
            absent = absent.join(seen, keys=self.key, join_type="left anti", use_threads=False)
        return absent.select(self.key)

    def deleted(self, in_mysql: pa.Table) -> pa.Table:
        """Keys the lake holds that MySQL no longer has."""
        assert self.lake_keys is not None
        return self.lake_keys.join(in_mysql, keys=self.key, join_type="left anti", use_threads=False).select(self.key)


def null_safe(rows: pa.Table) -> pa.Table:
    """The rows made comparable by a join: a join never matches NULL with NULL, so each nullable
    column's NULLs are replaced by a filler and flagged in a column of their own."""
    columns, names = [], []
    for name, column in zip(rows.column_names, rows.columns, strict=True):
        filled = pc.fill_null(column, _filler(column.type)) if column.null_count else column
        columns += [filled, pc.is_null(column)]
        names += [name, f"{name}__is_null"]
    return pa.table(columns, names=names)


def _filler(kind: pa.DataType) -> pa.Scalar:
    """Any value of the type (the `__is_null` flag tells it apart from a real one)."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pa.scalar("", kind)
    if pa.types.is_boolean(kind):
        return pa.scalar(False)
    if pa.types.is_date32(kind):
        return pa.scalar(0, pa.int32()).cast(kind)
    if pa.types.is_decimal(kind):  # an int64 zero does not cast to a decimal of under 19 integer digits
        return pa.scalar(Decimal(0), kind)
    return pa.scalar(0, pa.int64()).cast(kind)


def fetch_rows(
    reader: str, settings: MySQLSettings, database: str, table: Table, keys: pa.Table, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The rows of these keys, FETCH_KEYS keys per query (values bound or escaped, never pasted)."""
    names = list(table.primary_key)
    rows = keys.select(names).to_pylist()
    for start in range(0, len(rows), FETCH_KEYS):
        chunk = [tuple(row[n] for n in names) for row in rows[start : start + FETCH_KEYS]]
        yield from read_batches(reader, settings, database, table, Condition.keys_in(names, chunk), batch_rows)


def tombstones(keys: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    """One tombstone per key: the key, nulls elsewhere, `_lh_deleted` true."""
    columns = [
        keys[f.name].combine_chunks().cast(f.type) if f.name in keys.column_names else pa.nulls(keys.num_rows, f.type)
        for f in schema
        if f.name != DELETED
    ]
    return pa.RecordBatch.from_arrays([*columns, pa.array([True] * keys.num_rows, pa.bool_())], schema=schema)


def low_bound(high: object, lookback_seconds: float) -> object:
    """The inclusive start of the next read: the watermark minus the look-back for a date or a
    time, the watermark itself for a number (an increasing key has no late rows to wait for)."""
    if isinstance(high, dt.datetime | dt.date):
        return high - dt.timedelta(seconds=lookback_seconds)
    return high
