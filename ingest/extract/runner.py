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

This module runs those steps for one table and fans them out over a dataset's tables; the steps
themselves live in `source` (1, 2 and the counts), `plan` (3), `write` and `parquet_writer` (4)
and `commit` (5, and the cleaning in 1).
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pymysql
from pymysql.connections import Connection

from ingest.core import lake as lakes
from ingest.core.contract import Contract, ContractError, Table
from ingest.core.lake import Lake, LakeError
from ingest.core.mysql import MySQLUnavailable, connect
from ingest.core.settings import MySQLSettings
from ingest.extract import audit, cdc
from ingest.extract.commit import clean, commit_batch
from ingest.extract.errors import ExtractError, TableFailures
from ingest.extract.job import ExtractOptions, Job, Progress, TableResult, checkpoint
from ingest.extract.mysql_arrow import READERS, ReadError, ValueMismatch, pick_reader
from ingest.extract.plan import plan_table
from ingest.extract.source import check_source, high_watermark, lock_table


def _no_progress(_table: str, _total: int | None, _rows: int) -> None:
    return None


# -- one table ---------------------------------------------------------------------------


def extract_table(job: Job, table: Table) -> TableResult:
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


def _extract(job: Job, table: Table, lake: Lake, conn: Connection) -> TableResult:  # type: ignore[type-arg]
    """Lock, clean, check, plan; then write a batch and commit it (or record "nothing new")."""
    dataset = job.contract.dataset
    lock_table(conn, lake, dataset, table.name)
    audit.mark_interrupted(conn, lake.uri, dataset, table.name)
    checkpoint("locked")
    clean(lake, lakes.staging_root(lake) / dataset / table.name, dataset, table.name)
    check_source(conn, job.database, table)
    reader = pick_reader(job.options.reader, table, job.settings)
    plan = plan_table(job, lake, table, conn)
    plan.high = high_watermark(conn, job.database, table)
    if plan.binlog_start is not None:
        reader = "binlog"
    mode = "cdc" if reader == "binlog" else plan.mode
    result = TableResult(table.name, mode, "unchanged", reader=reader, note=plan.note)
    return commit_batch(job, table, lake, conn, result, plan)


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
    job = Job(contract, settings, lake.uri, options, uuid.uuid4().hex, progress or _no_progress)
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
