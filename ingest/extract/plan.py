"""What one table's next batch reads: a full snapshot, the cursor range of an incremental batch
(from the last committed watermark minus the look-back), or the binary log since the last batch's
position; and why, when a run asked for incremental or cdc has to take a full snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pymysql.connections import Connection

from ingest.core.contract import Table
from ingest.core.lake import Lake
from ingest.extract import batches as lakebatches
from ingest.extract import cdc, changes
from ingest.extract.batches import BinlogPosition, Manifest
from ingest.extract.job import Job
from ingest.extract.watermarks import decode_value, encode_value


@dataclass
class Plan:
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


def plan_table(job: Job, lake: Lake, table: Table, conn: Connection) -> Plan:  # type: ignore[type-arg]
    """Full; incremental from the latest committed watermark minus the look-back; or cdc."""
    if job.options.mode == "full":
        return Plan("full")
    if job.options.mode == "cdc":
        return _plan_cdc(job, lake, table, conn)
    if table.cursor is None or not table.primary_key:
        return Plan("full", note=f"no {'cursor column' if table.cursor is None else 'primary key'}: full snapshot")
    current = lakebatches.current_batches(lake, job.contract.dataset, table.name)
    return plan_incremental(table, [b.manifest for b in current], job.options.lookback_seconds)


def plan_incremental(table: Table, current: list[Manifest], lookback_seconds: float) -> Plan:
    """An incremental run's plan for a table with a cursor and a primary key, given the manifests of
    its current batches (oldest first): a full snapshot when there is none, or the newest is of an
    older lake format or another contract; else the range from the newest watermark's high minus
    the look-back (every row when no batch has a watermark of this cursor yet)."""
    assert table.cursor is not None and table.primary_key
    if not current or current[-1].format_version < lakebatches.FORMAT_VERSION:
        return Plan("full", note="first extract (or an older lake format): full snapshot")
    if _changed_contract(current[-1], table):
        return Plan("full", note="the contract changed since the last batch: full snapshot")
    marks = [m.watermark for m in current if m.watermark is not None]
    if not marks or marks[-1].column != table.cursor or marks[-1].high is None:
        return Plan("incremental", note="no watermark yet: reads every row")
    high = decode_value(marks[-1].high, table.column(table.cursor).type)
    return Plan("incremental", low=changes.low_bound(high, lookback_seconds))


def _changed_contract(manifest: Manifest, table: Table) -> bool:
    """Whether the table's columns, types or key differ from what the lake's batches hold."""
    held = [(c.name, c.type) for c in manifest.columns]
    return held != [(c.name, str(c.type)) for c in table.columns] or manifest.primary_key != table.primary_key


def _plan_cdc(job: Job, lake: Lake, table: Table, conn: Connection) -> Plan:  # type: ignore[type-arg]
    """From the newest committed batch's binlog position to the end of the log now; a first run (or
    a purged position) is a full snapshot that records the position taken before its read."""
    if not table.primary_key:
        return Plan("full", note="no primary key: full snapshot")
    cdc.check_server(conn)
    end = cdc.current_position(conn)
    current = lakebatches.current_batches(lake, job.contract.dataset, table.name)
    positions = [b.manifest.binlog for b in current if b.manifest.binlog is not None]
    if not positions:
        return Plan("full", note="first cdc extract: full snapshot", binlog_end=end)
    if not cdc.still_available(conn, positions[-1]):
        note = f"binlog file {positions[-1].file} was purged: full snapshot"
        return Plan("full", note=note, binlog_end=end)
    log = cdc.changes(job.settings, job.database, table, positions[-1], end)
    if log.replaced is not None:
        return Plan("full", note=f"replaced by {log.replaced}: full snapshot", binlog_end=end)
    return Plan("incremental", note="binlog", binlog_start=positions[-1], binlog_end=end, log=log)
