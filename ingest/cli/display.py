"""What the commands show: progress bars while they work, one summary table when they end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ingest.core.console import console, out


def progress_bars(unit: Literal["bytes", "rows"], enabled: bool) -> Progress:
    """One bar per table on stderr: bytes of CSV read (load), or rows written (extract)."""
    columns: list[ProgressColumn | str] = [TextColumn("{task.description}"), BarColumn()]
    if unit == "bytes":
        columns += [DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()]
    else:
        columns += [MofNCompleteColumn(), TextColumn("rows"), TimeElapsedColumn()]
    return Progress(*columns, console=console, disable=not enabled)


def print_summary(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], left: Sequence[str]) -> None:
    """A table on stdout: text columns (`left`) aligned left, numbers right; the last row is the total."""
    table = Table(title=title)
    for header in headers:
        table.add_column(header, justify="left" if header in left else "right")
    for index, row in enumerate(rows):
        table.add_row(*row, end_section=index == len(rows) - 2)
    out.print(table)


def size(count: int) -> str:
    """Bytes for people: 1.5 MiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.1f} {unit}" if unit != "B" else f"{count} B"
        value /= 1024
    return f"{count} B"
