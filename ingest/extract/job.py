"""What one extract command is given and reports, shared by the modules that plan, write and commit
a table's batch: its options, the job the workers share, a table's result, progress, and the named
steps a test can stop it at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ingest.core import failpoints
from ingest.core.contract import Contract
from ingest.core.settings import MySQLSettings
from ingest.extract.batches import DEFAULT_GRACE

Mode = Literal["full", "incremental", "cdc"]
STOP_AT = "LAKEHOUSE_EXTRACT_STOP_AT"


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


@dataclass
class Job:
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


def checkpoint(step: str) -> None:
    """A named step of an extract (see `ingest.core.failpoints`): locked, file-written (after each data
    file), staged (manifest written, not published), published (before the audit), audited, and
    retention (a batch's manifest removed, its files not yet)."""
    failpoints.checkpoint(STOP_AT, step)
