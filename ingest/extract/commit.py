"""A table's batch committed: written in staging, described by its manifest (which carries the
watermark or binlog position the next run starts from), published manifest last, recorded in the
audit table, then retention applied; or, for an incremental run that found nothing, not committed
at all. Also what a killed or failed run left behind, cleaned before the next one."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pymysql
from pymysql.connections import Connection

from ingest.core import lake as lakes
from ingest.core.contract import Table
from ingest.core.lake import Lake
from ingest.core.mysql import MySQLUnavailable
from ingest.extract import audit
from ingest.extract import batches as lakebatches
from ingest.extract.batches import MANIFEST, ColumnEntry, Manifest, Watermark
from ingest.extract.job import Job, TableResult, checkpoint
from ingest.extract.mysql_arrow import arrow_schema
from ingest.extract.plan import Plan
from ingest.extract.write import Written, write_batch


def clean(lake: Lake, staging: Path, dataset: str, table: str) -> None:
    """What a killed or failed run left: its local staging files and its uncommitted batches."""
    shutil.rmtree(staging, ignore_errors=True)
    lakebatches.remove_uncommitted(lake, dataset, table)


def _manifest(
    job: Job, table: Table, batch_id: str, plan: Plan, reader: str, started: datetime, written: Written
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


def commit_batch(
    job: Job,
    table: Table,
    lake: Lake,
    conn: Connection,  # type: ignore[type-arg]
    result: TableResult,
    plan: Plan,
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
        written = write_batch(job, lake, table, result.reader, folder, plan)
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
