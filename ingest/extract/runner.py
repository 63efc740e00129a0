"""MySQL tables -> typed Parquet batches in the lake's raw zone, committed by a manifest.

For each table, in a bounded pool of worker threads:
1. take the table's extract lock (a MySQL named lock per lake, dataset and table), mark runs a
   kill left `running` as interrupted, and remove their staging files and uncommitted batches;
2. check the MySQL table against the contract (columns, types, DECIMAL precision and scale);
3. fix the range: `full` reads everything up to MAX(cursor) now (or the whole table when it has no
   cursor); `incremental` reads from the latest committed batch's high watermark minus the
   look-back (inclusive) up to MAX(cursor) now, and compares key sets (see `extract_changes`).
   COUNT(*) over the same range is what the read must return;
4. stream rows (see `mysql_arrow`) into Parquet files in a staging folder: zstd, row groups of
   `row_group_rows`, a new file past `max_file_bytes`;
5. reconcile the rows read with MySQL's count, write the manifest, publish (manifest last),
   record it in the audit table, and apply retention (`keep` full snapshots, `grace` for readers).
A failure or a kill before the manifest leaves nothing visible; the watermark lives in the
manifest, so it moves only with a committed batch. An incremental run that finds nothing changed
writes nothing. Delivery: every change MySQL shows at the key scan and the read is in the lake
once its batch is committed, exactly once per committed batch (a re-run after a failure reads the
same range again; readers keep the newest version of each key).
"""

from __future__ import annotations

import hashlib
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
import pymysql
from pymysql.connections import Connection

from ingest.core import failpoints
from ingest.core import lake as lakes
from ingest.core.contract import Contract, ContractError, SqlType, Table
from ingest.core.errors import DataError, TransientError
from ingest.core.lake import Lake, LakeError
from ingest.core.mysql import MySQLUnavailable, connect, quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.core.types import TYPES, family
from ingest.extract import audit, cdc, changes
from ingest.extract import batches as lakebatches
from ingest.extract.batches import DEFAULT_GRACE, MANIFEST, BinlogPosition, ColumnEntry, FileEntry, Manifest, Watermark
from ingest.extract.mysql_arrow import (
    READERS,
    Condition,
    ReadError,
    ValueMismatch,
    arrow_schema,
    pick_reader,
    read_batches,
)

Mode = Literal["full", "incremental", "cdc"]
STOP_AT = "LAKEHOUSE_EXTRACT_STOP_AT"


class ExtractError(DataError):
    """An extract that cannot finish; nothing of it was committed."""


class TableFailures(Exception):
    """Some tables failed: their exceptions (each keeps its class), and the results of those that
    succeeded. Raised as `ExtractFailed` (data: fix, then re-run) or `ExtractInterrupted` (a table
    met a transient failure: the whole command may be retried)."""

    def __init__(self, errors: dict[str, BaseException], results: list[TableResult]) -> None:
        self.exceptions = errors
        self.errors = {table: str(exc) for table, exc in errors.items()}
        self.results = results
        lines = "; ".join(f"{table}: {message}" for table, message in self.errors.items())
        super().__init__(f"{len(errors)} table(s) failed: {lines}")

    @staticmethod
    def of(errors: dict[str, BaseException], results: list[TableResult]) -> TableFailures:
        """The transient branch when any table's failure is transient, else the data branch."""
        transient = any(isinstance(exc, TransientError) for exc in errors.values())
        return (ExtractInterrupted if transient else ExtractFailed)(errors, results)


class ExtractFailed(TableFailures, ExtractError):
    """Tables failed for reasons a retry cannot fix."""


class ExtractInterrupted(TableFailures, TransientError):
    """At least one table failed on a service (MySQL, the lake's server): retried."""


@dataclass
class ExtractOptions:
    """Knobs of one extract command; the defaults suit a laptop and a Dataproc-sized table alike."""

    database: str | None = None  # MySQL database (default: the dataset's name)
    tables: list[str] | None = None
    mode: Mode = "full"
    workers: int = 2
    keep: int = 2  # full snapshots kept per table
    grace_seconds: float = DEFAULT_GRACE.total_seconds()  # superseded batches stay this long for readers
    lookback_seconds: float = 24 * 3600.0  # incremental: re-read this far behind a date/time watermark
    compare_keys: bool = True  # incremental: key scans for late inserts and deletes (see extract_changes)
    reader: str = "auto"
    batch_rows: int = 65_536  # rows per read from MySQL
    row_group_rows: int = 262_144
    max_file_bytes: int = 256 * 1024 * 1024
    compression: str = "zstd"
    compression_level: int = 1


@dataclass
class TableResult:
    """What one table's extract did, for the summary table."""

    table: str
    mode: str
    status: str  # committed or unchanged
    batch: str | None = None
    reader: str | None = None
    rows: int = 0
    deleted: int = 0
    source_rows: int = 0
    bytes: int = 0
    files: int = 0
    seconds: float = 0.0
    watermark: str | None = None
    note: str = ""
    removed: list[str] = field(default_factory=list)


Progress = Callable[[str, int | None, int], None]  # (table, total when known, rows advanced)


def _no_progress(_table: str, _total: int | None, _rows: int) -> None:
    return None


# -- values and watermarks ---------------------------------------------------------------


def encode_value(value: object) -> str:
    """A cursor value as text for the manifest and the audit table (ISO for dates and times)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def decode_value(text: str, sql_type: SqlType) -> object:
    """The inverse of `encode_value` for a column of the contract: a typed value to bind."""
    kind = family(sql_type)
    if kind in ("integer", "boolean"):
        return int(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "double":
        return float(text)  # str(float) round-trips exactly
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "datetime":
        return datetime.fromisoformat(text)
    return text


# -- the MySQL side ----------------------------------------------------------------------


def check_source(conn: Connection, database: str, table: Table) -> None:  # type: ignore[type-arg]
    """The MySQL table exists and its columns fit the contract exactly, or say what is wrong."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale, column_type "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (database, table.name),
        )
        found = {row[0]: row[1:] for row in cursor.fetchall()}
    if not found:
        raise ExtractError(
            f"MySQL database {database} has no table {table.name}; load it first "
            f"(`python -m ingest load ...`) or pick the database with --database"
        )
    for column in table.columns:
        if column.name not in found:
            raise ExtractError(f"MySQL table {database}.{table.name} has no column {column.name} (contract)")
        data_type, precision, scale, column_type = found[column.name]
        base = column.type.base
        wrong = data_type.lower() not in TYPES[base].stored_as or "unsigned" in str(column_type).lower()
        if base == "DECIMAL":
            wrong = wrong or (precision, scale) != (column.type.precision, column.type.scale)
        if wrong:
            raise ExtractError(
                f"MySQL column {database}.{table.name}.{column.name} is {column_type}, "
                f"but the contract says {column.type}; fix the contract or reload the table"
            )
    _check_key(conn, database, table)


def _check_key(conn: Connection, database: str, table: Table) -> None:  # type: ignore[type-arg]
    """The contract's primary key is MySQL's primary key, or a unique key of the same columns:
    readers keep one row per key, so a key the rows may repeat would hide rows."""
    if not table.primary_key:
        return
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT index_name, column_name, nullable FROM information_schema.statistics "
            "WHERE table_schema = %s AND table_name = %s AND non_unique = 0 ORDER BY index_name, seq_in_index",
            (database, table.name),
        )
        unique: dict[str, list[str]] = {}
        nullable: set[str] = set()
        for index, column, can_be_null in cursor.fetchall():
            unique.setdefault(str(index), []).append(str(column))
            if can_be_null == "YES":
                nullable.add(str(index))
    wanted = set(table.primary_key)
    if any(set(columns) == wanted and index not in nullable for index, columns in unique.items()):
        return
    held = ", ".join(unique.get("PRIMARY", [])) or "none"
    raise ExtractError(
        f"the contract's primary key of {database}.{table.name} ({', '.join(table.primary_key)}) is not MySQL's "
        f"primary key ({held}) nor a unique key of the same columns, so rows may repeat it; fix the contract's "
        "primary_key (or load the table under it)"
    )


def _lock(conn: Connection, lake: Lake, dataset: str, table: str) -> None:  # type: ignore[type-arg]
    """One extract per lake, dataset and table at a time (the lock dies with the connection)."""
    digest = hashlib.sha1(f"{lake.uri}|{dataset}|{table}".encode()).hexdigest()
    with conn.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 0)", (f"lakehouse_extract.{digest}",))
        row = cursor.fetchone()
    if not row or row[0] != 1:
        raise ExtractError(f"another extract of {dataset}.{table} into {lake.uri} is running; wait for it to finish")


def _high(conn: Connection, database: str, table: Table) -> object | None:  # type: ignore[type-arg]
    """MAX(cursor) now: the batch's inclusive upper watermark (None: an empty table)."""
    if table.cursor is None:
        return None
    source = f"{quote_identifier(database)}.{quote_identifier(table.name)}"
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT MAX({quote_identifier(table.cursor)}) FROM {source}")
        row = cursor.fetchone()
    return row[0] if row else None


def count_rows(settings: MySQLSettings, database: str, table: Table, condition: Condition) -> int:
    """COUNT(*) over a batch's range, on a connection of its own: it runs beside the read, so the
    reconciliation costs no extra wall time (a full scan of a large table takes seconds)."""
    where, params = condition.for_pymysql()
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote_identifier(database)}.{quote_identifier(table.name)}"
                + (f" WHERE {where}" if where else ""),
                params,
            )
            row = cursor.fetchone()
    finally:
        conn.close()
    assert row is not None
    return int(row[0])


# -- the Parquet side --------------------------------------------------------------------


class PartWriter:
    """Parquet files of one batch: row groups of exactly `row_group_rows` (the last may be
    smaller), a new file once one passes `max_file_bytes`. Holds at most one row group in memory."""

    def __init__(self, folder: Path, schema: pa.Schema, options: ExtractOptions) -> None:
        self.folder = folder
        self.schema = schema
        self.options = options
        self.buffer: list[pa.RecordBatch] = []
        self.buffered = 0
        self.entries: list[FileEntry] = []
        self._writer: pq.ParquetWriter | None = None
        self._sink: pa.NativeFile | None = None
        self._rows = 0
        self._groups = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.buffer.append(batch)
        self.buffered += batch.num_rows
        size = self.options.row_group_rows
        if self.buffered < size:
            return
        table = pa.Table.from_batches(self.buffer, schema=self.schema)
        offset = 0
        while table.num_rows - offset >= size:
            self._write(table.slice(offset, size))
            offset += size
        rest = table.slice(offset)
        self.buffer, self.buffered = rest.to_batches(), rest.num_rows

    def finish(self) -> list[FileEntry]:
        """Flush, close, and describe the files (an empty batch still gets one file with the schema)."""
        if self.buffered or (not self.entries and self._writer is None):
            self._write(pa.Table.from_batches(self.buffer, schema=self.schema))
        self._close()
        return self.entries

    def _write(self, table: pa.Table) -> None:
        if self._writer is None:
            path = self.folder / f"part-{len(self.entries):05d}.parquet"
            self._sink = pa.OSFile(str(path), "wb")
            self._writer = pq.ParquetWriter(
                self._sink,
                self.schema,
                compression=self.options.compression,
                compression_level=self.options.compression_level,
            )
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self._rows += table.num_rows
        self._groups += 1
        assert self._sink is not None
        if self._sink.tell() >= self.options.max_file_bytes:
            self._close()

    def _close(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        assert self._sink is not None
        self._sink.close()
        path = self.folder / f"part-{len(self.entries):05d}.parquet"
        crc, _ = lakes.file_checksums(path, md5=False)
        self.entries.append(
            FileEntry(path=path.name, rows=self._rows, bytes=path.stat().st_size, row_groups=self._groups, crc32c=crc)
        )
        failpoints.checkpoint(STOP_AT, "file-written")
        self._writer, self._sink, self._rows, self._groups = None, None, 0, 0


# -- one table ---------------------------------------------------------------------------


@dataclass
class _Job:
    """Everything one table's extract needs, shared read-only by the workers."""

    contract: Contract
    settings: MySQLSettings
    lake_uri: str
    options: ExtractOptions
    run_id: str
    progress: Progress

    @property
    def database(self) -> str:
        return self.options.database or self.contract.dataset


@dataclass
class _Plan:
    """What one table's batch reads: its mode, the cursor range (both bounds inclusive) or the
    binlog range (cdc: from the newest batch's position to the server's when the run started)."""

    mode: Literal["full", "incremental"]
    low: object | None = None
    high: object | None = None
    note: str = ""
    binlog_start: BinlogPosition | None = None
    binlog_end: BinlogPosition | None = None
    log: cdc.LogChanges | None = None  # cdc: what the log holds between the two positions

    def marks(self, table: Table) -> tuple[str | None, str | None, str | None]:
        encode = [None if v is None else encode_value(v) for v in (self.low, self.high)]
        return table.cursor, encode[0], encode[1]


def _plan(job: _Job, lake: Lake, table: Table, conn: Connection) -> _Plan:  # type: ignore[type-arg]
    """Full; incremental from the latest committed watermark minus the look-back; or cdc."""
    if job.options.mode == "full":
        return _Plan("full")
    if job.options.mode == "cdc":
        return _plan_cdc(job, lake, table, conn)
    if table.cursor is None or not table.primary_key:
        return _Plan("full", note=f"no {'cursor column' if table.cursor is None else 'primary key'}: full snapshot")
    current = lakebatches.current_batches(lake, job.contract.dataset, table.name)
    if not current or current[-1].manifest.format_version < lakebatches.FORMAT_VERSION:
        return _Plan("full", note="first extract (or an older lake format): full snapshot")
    if _changed_contract(current[-1].manifest, table):
        return _Plan("full", note="the contract changed since the last batch: full snapshot")
    marks = [b.manifest.watermark for b in current if b.manifest.watermark is not None]
    if not marks or marks[-1].column != table.cursor or marks[-1].high is None:
        return _Plan("incremental", note="no watermark yet: reads every row")
    high = decode_value(marks[-1].high, table.column(table.cursor).type)
    return _Plan("incremental", low=changes.low_bound(high, job.options.lookback_seconds))


def _changed_contract(manifest: Manifest, table: Table) -> bool:
    """Whether the table's columns, types or key differ from what the lake's batches hold."""
    held = [(c.name, c.type) for c in manifest.columns]
    return held != [(c.name, str(c.type)) for c in table.columns] or manifest.primary_key != table.primary_key


def _plan_cdc(job: _Job, lake: Lake, table: Table, conn: Connection) -> _Plan:  # type: ignore[type-arg]
    """From the newest committed batch's binlog position to the end of the log now; a first run (or
    a purged position) is a full snapshot that records the position taken before its read."""
    if not table.primary_key:
        return _Plan("full", note="no primary key: full snapshot")
    cdc.check_server(conn)
    end = cdc.current_position(conn)
    current = lakebatches.current_batches(lake, job.contract.dataset, table.name)
    positions = [b.manifest.binlog for b in current if b.manifest.binlog is not None]
    if not positions:
        return _Plan("full", note="first cdc extract: full snapshot", binlog_end=end)
    if not cdc.still_available(conn, positions[-1]):
        note = f"binlog file {positions[-1].file} was purged: full snapshot"
        return _Plan("full", note=note, binlog_end=end)
    log = cdc.changes(job.settings, job.database, table, positions[-1], end)
    if log.replaced is not None:
        return _Plan("full", note=f"replaced by {log.replaced}: full snapshot", binlog_end=end)
    return _Plan("incremental", note="binlog", binlog_start=positions[-1], binlog_end=end, log=log)


def _clean(lake: Lake, staging: Path, dataset: str, table: str) -> None:
    """What a killed or failed run left: its local staging files and its uncommitted batches."""
    shutil.rmtree(staging, ignore_errors=True)
    lakebatches.remove_uncommitted(lake, dataset, table)


@dataclass
class _Written:
    """What a batch holds: its files, rows written, tombstones, and the rows MySQL vouched for."""

    files: list[FileEntry]
    rows: int
    deleted: int
    source_rows: int


def _manifest(
    job: _Job, table: Table, batch_id: str, plan: _Plan, reader: str, started: datetime, written: _Written
) -> Manifest:
    schema = arrow_schema(table)
    cursor, low, high = plan.marks(table)
    watermark = None
    if cursor is not None:
        watermark = Watermark(column=cursor, type=str(table.column(cursor).type), low=low, high=high)
    return Manifest(
        dataset=job.contract.dataset,
        table=table.name,
        batch=batch_id,
        mode=plan.mode,
        source_database=job.database,
        reader=reader,
        started_at=started.isoformat(),
        committed_at=datetime.now(UTC).isoformat(),
        rows=written.rows,
        source_rows=written.source_rows,
        deleted=written.deleted,
        primary_key=list(table.primary_key),
        bytes=sum(f.bytes for f in written.files),
        compression=f"{job.options.compression}(level {job.options.compression_level})",
        files=written.files,
        columns=[
            ColumnEntry(
                name=c.name, type=str(c.type), arrow=str(f.type), nullable=c.nullable, renamed_from=c.renamed_from
            )
            for c, f in zip(table.columns, schema, strict=True)
        ],
        watermark=watermark,
        binlog=plan.binlog_end,
    )


def _write_binlog(job: _Job, table: Table, writer: PartWriter, plan: _Plan) -> _Written:
    """A cdc batch: each changed key's final image, and tombstones for deleted keys."""
    assert plan.log is not None
    final, written = plan.log.final, 0
    for batch in cdc.as_batches(table, final):
        writer.add(changes.as_rows(batch, writer.schema))
        written += batch.num_rows
        job.progress(table.name, None, batch.num_rows)
    gone = cdc.deleted_keys(table, final)
    writer.add(changes.tombstones(gone, writer.schema))
    return _Written(writer.finish(), written, gone.num_rows, plan.log.events)


def _write_batch(job: _Job, lake: Lake, table: Table, reader: str, folder: Path, plan: _Plan) -> _Written:
    """Stream the range into Parquet files under `folder` while MySQL counts the same range; for an
    incremental batch, also the rows of keys the lake lacks and tombstones for keys MySQL lost.

    Raises when the rows read do not reconcile with MySQL's count.
    """
    folder.mkdir(parents=True)
    schema = changes.file_schema(table)
    writer = PartWriter(folder, schema, job.options)
    if plan.binlog_start is not None:
        return _write_binlog(job, table, writer, plan)
    rng = Condition.cursor_range(table, plan.low, plan.high)
    delta, in_mysql = None, None
    if plan.mode == "incremental":  # keys first: see extract_changes on why the order matters
        if job.options.compare_keys:
            in_mysql = changes.mysql_keys(reader, job.settings, job.database, table, job.options.batch_rows)
        delta = changes.Changes(lake, job.contract.dataset, table, plan.low, keys=job.options.compare_keys)
    job.progress(table.name, None, 0)
    read = written = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="count") as counter:
        counting = counter.submit(count_rows, job.settings, job.database, table, rng)
        counting.add_done_callback(
            lambda done: job.progress(table.name, done.result(), 0) if done.exception() is None else None
        )
        for batch in read_batches(reader, job.settings, job.database, table, rng, job.options.batch_rows):
            read += batch.num_rows
            fresh = delta.unchanged_dropped(batch) if delta is not None else batch
            writer.add(changes.as_rows(fresh, schema))
            written += fresh.num_rows
            job.progress(table.name, None, batch.num_rows)
        total = counting.result()
    if read != total:
        raise ExtractError(
            f"counts do not reconcile: MySQL counted {total:,} rows in range, {read:,} were read "
            "(the table changed during the extract?); nothing was committed, run it again"
        )
    deleted = 0
    if delta is not None and in_mysql is not None:
        for batch in changes.fetch_rows(
            reader, job.settings, job.database, table, delta.missing(in_mysql), job.options.batch_rows
        ):
            writer.add(changes.as_rows(batch, schema))
            written, total = written + batch.num_rows, total + batch.num_rows
        gone = delta.deleted(in_mysql)
        writer.add(changes.tombstones(gone, schema))
        deleted = gone.num_rows
    files = writer.finish()
    assert sum(f.rows for f in files) == written + deleted
    return _Written(files, written, deleted, total)


def extract_table(job: _Job, table: Table) -> TableResult:
    """One table, start to finish (see the module docstring). Runs in a worker thread."""
    clock = time.perf_counter()
    lake = lakes.parse_lake(job.lake_uri)  # a client of its own per thread
    conn = connect(job.settings)
    try:
        result = _extract(job, table, lake, conn)
    finally:
        conn.close()  # releases the lock
    result.seconds = time.perf_counter() - clock
    return result


def _extract(job: _Job, table: Table, lake: Lake, conn: Connection) -> TableResult:  # type: ignore[type-arg]
    """Lock, clean, check, plan; then write a batch and commit it (or record "nothing new")."""
    dataset = job.contract.dataset
    _lock(conn, lake, dataset, table.name)
    audit.mark_interrupted(conn, lake.uri, dataset, table.name)
    checkpoint("locked")
    _clean(lake, lakes.staging_root(lake) / dataset / table.name, dataset, table.name)
    check_source(conn, job.database, table)
    reader = pick_reader(job.options.reader, table, job.settings)
    plan = _plan(job, lake, table, conn)
    plan.high = _high(conn, job.database, table)
    if plan.binlog_start is not None:
        reader = "binlog"
    mode = "cdc" if reader == "binlog" else plan.mode
    result = TableResult(table.name, mode, "unchanged", reader=reader, note=plan.note)
    return _commit_batch(job, table, lake, conn, result, plan)


def _commit_batch(
    job: _Job,
    table: Table,
    lake: Lake,
    conn: Connection,  # type: ignore[type-arg]
    result: TableResult,
    plan: _Plan,
) -> TableResult:
    """Write the batch in staging, reconcile, write its manifest, publish, audit, apply retention."""
    dataset, started = job.contract.dataset, datetime.now(UTC)
    batch_id = lakebatches.next_batch_id(lakebatches.committed_batches(lake, dataset, table.name), started)
    marks = plan.marks(table)
    extract_id = audit.start(conn, run_id=job.run_id, dataset=dataset, database=job.database, table=table.name,
                             lake_uri=lake.uri, batch_id=batch_id, mode=plan.mode, reader=result.reader,
                             watermark=marks)  # fmt: skip
    folder = lakes.staging_root(lake) / dataset / table.name / f"{lakebatches.BATCH_PREFIX}{batch_id}"
    try:
        assert result.reader is not None
        written = _write_batch(job, lake, table, result.reader, folder, plan)
        moved_on = (
            plan.binlog_start is not None
            and plan.binlog_end is not None
            and (
                plan.binlog_end.file != plan.binlog_start.file  # keep a quiet table's position in a file not purged
            )
        )
        if plan.mode == "incremental" and not written.rows and not written.deleted and not moved_on:
            shutil.rmtree(folder, ignore_errors=True)
            audit.finish(conn, extract_id, status="unchanged", source_rows=written.source_rows)
            result.note, result.watermark, result.source_rows = "nothing new", marks[1], written.source_rows
            return result
        manifest = _manifest(job, table, batch_id, plan, result.reader, started, written)
        (folder / MANIFEST).write_bytes(manifest.to_json())
        checkpoint("staged")
        lakes.publish(lake, folder, lakebatches.batch_prefix(dataset, table.name, batch_id), MANIFEST)
        checkpoint("published")
    except BaseException as exc:
        audit.finish(conn, extract_id, status="failed", message=f"{type(exc).__name__}: {exc}"[:4000])
        shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        audit.finish(conn, extract_id, status="committed", source_rows=written.source_rows,
                     rows_written=written.rows, bytes_written=manifest.bytes, files=len(written.files))  # fmt: skip
    except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as exc:
        # The batch is in the lake already; its audit row stays 'running' until the next extract of
        # the table marks it interrupted. A retry commits a batch after it, as any next run would.
        raise MySQLUnavailable(
            f"batch {batch_id} is committed in the lake, but MySQL went away before its audit row was written: {exc}"
        ) from exc
    checkpoint("audited")
    grace = timedelta(seconds=job.options.grace_seconds)
    result.removed = lakebatches.apply_retention(lake, dataset, table.name, job.options.keep, grace)
    result.status, result.batch, result.rows, result.deleted = "committed", batch_id, written.rows, written.deleted
    result.source_rows, result.bytes, result.files, result.watermark = (
        written.source_rows,
        manifest.bytes,
        len(written.files),
        marks[2],
    )
    return result


def checkpoint(step: str) -> None:
    """A named step of an extract (see `ingest.core.failpoints`): locked, file-written (after each data
    file), staged (manifest written, not published), published (before the audit), audited, and
    retention (a batch's manifest removed, its files not yet)."""
    failpoints.checkpoint(STOP_AT, step)


# -- the whole dataset -------------------------------------------------------------------

# Failures that are one table's and say what to do; anything else is reported with its type.
EXPECTED = (
    ExtractError,
    ReadError,
    ValueMismatch,
    LakeError,
    MySQLUnavailable,
    ContractError,
    cdc.CdcUnavailable,
)


def _selected(contract: Contract, names: list[str] | None) -> list[Table]:
    if not names:
        return list(contract.tables)
    return [contract.table(name) for name in names]


def _validate(options: ExtractOptions) -> None:
    if options.mode not in ("full", "incremental", "cdc"):
        raise ExtractError(f"--mode must be full, incremental or cdc, not {options.mode!r}")
    if options.reader not in READERS:
        raise ExtractError(f"--reader must be one of {', '.join(READERS)}, not {options.reader!r}")
    for name in ("workers", "keep", "batch_rows", "row_group_rows", "max_file_bytes"):
        if getattr(options, name) < 1:
            raise ExtractError(f"{name.replace('_', '-')} must be at least 1")
    for name in ("grace_seconds", "lookback_seconds"):
        if getattr(options, name) < 0:
            raise ExtractError(f"{name.replace('_seconds', '').replace('_', '-')} cannot be negative")


def _caused(error: Exception, cause: BaseException) -> Exception:
    """A table's failure in the project's terms, its original exception (and traceback) kept."""
    error.__cause__ = cause
    return error


def extract_dataset(
    contract: Contract,
    settings: MySQLSettings,
    lake_uri: str | None = None,
    options: ExtractOptions | None = None,
    progress: Progress | None = None,
) -> list[TableResult]:
    """Extract the contract's tables into the lake (default: `lake.default_lake_uri()`).

    Raises ContractError (unknown table), LakeError (lake unusable), MySQLUnavailable, ExtractError;
    ExtractFailed (or ExtractInterrupted, when a failure was transient) when some tables failed; the
    others are committed and listed in it.
    """
    options = options or ExtractOptions()
    _validate(options)
    tables = _selected(contract, options.tables)
    lake = lakes.parse_lake(lake_uri or lakes.default_lake_uri())
    lakes.check(lake)
    conn = connect(settings)
    try:
        audit.ensure_extracts(conn)
    finally:
        conn.close()
    job = _Job(contract, settings, lake.uri, options, uuid.uuid4().hex, progress or _no_progress)
    results: dict[str, TableResult] = {}
    errors: dict[str, BaseException] = {}
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="extract") as pool:
        futures = {table.name: pool.submit(extract_table, job, table) for table in tables}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except EXPECTED as exc:
                errors[name] = exc
            except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as exc:
                errors[name] = _caused(MySQLUnavailable(f"MySQL connection failed: {exc}"), exc)  # lost, refused
            except pymysql.err.MySQLError as exc:
                errors[name] = _caused(ExtractError(f"MySQL error {exc}"), exc)
            except Exception as exc:  # noqa: BLE001  (one table's bug must not hide the others' results)
                errors[name] = _caused(ExtractError(f"{type(exc).__name__}: {exc}"), exc)
    ordered = [results[t.name] for t in tables if t.name in results]
    if errors:
        raise TableFailures.of(errors, ordered)
    return ordered
