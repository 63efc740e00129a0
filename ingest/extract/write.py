"""One batch's rows into Parquet files in its staging folder: the cursor range streamed from MySQL
while a second connection counts it (the two must reconcile), and for an incremental batch the
rows of keys the lake lacks and tombstones for keys MySQL lost; or, for cdc, the binary log's
final image of each changed key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ingest.core.contract import Table
from ingest.core.lake import Lake
from ingest.extract import cdc, changes
from ingest.extract.batches import FileEntry
from ingest.extract.errors import ExtractError
from ingest.extract.job import Job
from ingest.extract.mysql_arrow import Condition, read_batches
from ingest.extract.parquet_writer import PartWriter
from ingest.extract.plan import Plan
from ingest.extract.source import count_rows


@dataclass
class Written:
    """What a batch holds: its files, rows written, tombstones, and the rows MySQL vouched for."""

    files: list[FileEntry]
    rows: int
    deleted: int
    source_rows: int


def _write_binlog(job: Job, table: Table, writer: PartWriter, plan: Plan) -> Written:
    """A cdc batch: each changed key's final image, and tombstones for deleted keys."""
    assert plan.log is not None
    final, written = plan.log.final, 0
    for batch in cdc.as_batches(table, final):
        writer.add(changes.as_rows(batch, writer.schema))
        written += batch.num_rows
        job.progress(table.name, None, batch.num_rows)
    gone = cdc.deleted_keys(table, final)
    writer.add(changes.tombstones(gone, writer.schema))
    return Written(writer.finish(), written, gone.num_rows, plan.log.events)


def write_batch(job: Job, lake: Lake, table: Table, reader: str, folder: Path, plan: Plan) -> Written:
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
    return Written(files, written, deleted, total)
