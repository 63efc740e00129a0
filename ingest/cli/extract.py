"""`python -m ingest extract`: MySQL tables -> Parquet batches in the lake, with a progress bar and a summary."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, TaskID

from ingest.cli import display
from ingest.cli.display import progress_bars, size
from ingest.core.console import fail, mysql_settings, out, resolve_contract
from ingest.core.contract import ContractError
from ingest.core.errors import LakehouseError
from ingest.core.lake import default_lake_uri
from ingest.extract import ExtractOptions, TableFailures, TableResult, extract_dataset


class _Bars:
    """A thread-safe progress callback for the extract workers: one bar per table, in rows."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, table: str, total: int | None, rows: int) -> None:
        if table not in self.tasks:
            self.tasks[table] = self.progress.add_task(table, total=total)
        elif total is not None:
            self.progress.update(self.tasks[table], total=total)
        if rows:
            self.progress.advance(self.tasks[table], rows)


def print_summary(lake: str, results: list[TableResult]) -> None:
    """One row per table: rows (checked against MySQL), files, bytes, rows/s, batch."""
    headers = (
        "table",
        "mode",
        "status",
        "rows",
        "deleted",
        "MySQL count",
        "files",
        "size",
        "seconds",
        "rows/s",
        "batch",
    )
    rows = [
        [
            r.table,
            r.mode,
            r.status + (f" ({r.note})" if r.note else ""),
            f"{r.rows:,}",
            f"{r.deleted:,}",
            f"{r.source_rows:,}",
            str(r.files),
            size(r.bytes),
            f"{r.seconds:.2f}",
            f"{r.rows / r.seconds:,.0f}" if r.seconds > 0 and r.rows else "-",
            r.batch or "-",
        ]
        for r in results
    ]
    total_rows, total_size = sum(r.rows for r in results), sum(r.bytes for r in results)
    deleted, counted = sum(r.deleted for r in results), sum(r.source_rows for r in results)
    rows.append(["total", "", "", f"{total_rows:,}", f"{deleted:,}", f"{counted:,}", "", size(total_size), "", "", ""])
    display.print_summary(f"extract into {lake}", headers, rows, left=("table", "mode", "status", "batch"))
    removed = sum(len(r.removed) for r in results)
    if removed:
        out.print(f"removed {removed} batch(es) past --keep full snapshots and --retention-grace")


def seconds(text: str, option: str) -> float:
    """A duration as people write it: 0, 90s, 30m, 24h or 7d."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if match is None or (match.group(2) == "" and float(match.group(1)) != 0):
        fail(f"{option} must be a duration such as 90s, 30m, 24h or 7d, not {text!r}", 2)
    assert match is not None
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def extract(
    dataset: Annotated[str | None, typer.Option(help="A shipped contract, e.g. tpch.")] = None,
    contract_file: Annotated[Path | None, typer.Option("--contract", help="A contract file.")] = None,
    lake: Annotated[
        str | None,
        typer.Option(help="file:///folder or gs://BUCKET/PREFIX (default: LAKEHOUSE_LAKE_URI, else .local/lake)."),
    ] = None,
    database: Annotated[str | None, typer.Option(help="MySQL database (default: the dataset's name).")] = None,
    tables: Annotated[str | None, typer.Option(help="Only these tables, comma-separated.")] = None,
    mode: Annotated[
        str,
        typer.Option(
            help="full: a new snapshot batch; incremental: changed rows since the last batch (look-back window, "
            "new keys and deletes by comparing key sets); cdc: every change since the last batch, from the "
            "server's binary log."
        ),
    ] = "full",
    workers: Annotated[int, typer.Option(help="Tables extracted at the same time.")] = 2,
    keep: Annotated[int, typer.Option(help="Full snapshots kept per table; older batches are removed.")] = 2,
    retention_grace: Annotated[
        str, typer.Option(help="Keep superseded batches this long for readers still reading them (90s, 30m, 24h, 7d).")
    ] = "24h",
    lookback: Annotated[
        str, typer.Option(help="Incremental: re-read rows stamped this long before the last watermark (late rows).")
    ] = "24h",
    compare_keys: Annotated[
        bool,
        typer.Option(help="Incremental: compare key sets to catch deletes and late inserts (a key scan per run)."),
    ] = True,
    reader: Annotated[str, typer.Option(help="auto (connectorx when exact), connectorx or pymysql.")] = "auto",
    batch_rows: Annotated[int, typer.Option(help="Rows fetched from MySQL at a time.")] = 65_536,
    row_group_rows: Annotated[int, typer.Option(help="Rows per Parquet row group.")] = 262_144,
    max_file_mb: Annotated[int, typer.Option(help="Start a new Parquet file past this size (MiB).")] = 256,
    progress: Annotated[
        bool, typer.Option(help="Show progress bars (default: when on a terminal).")
    ] = sys.stderr.isatty(),
) -> None:
    """Extract MySQL tables into the lake's raw zone as typed Parquet (zstd), one batch per table.

    Layout: <lake>/raw/<dataset>/<table>/batch=<id>/part-NNNNN.parquet + manifest.json. A batch
    is visible only once its manifest is written (last); a killed run leaves nothing visible and
    the next run cleans up. Counts are reconciled with MySQL and recorded in the audit table.
    GCS: credentials from GOOGLE_APPLICATION_CREDENTIALS or application default credentials;
    STORAGE_EMULATOR_HOST points the same client at an emulator.
    """
    contract = resolve_contract(dataset, contract_file)
    if mode not in ("full", "incremental", "cdc"):
        fail(f"--mode must be full, incremental or cdc, not {mode!r}", 2)
    options = ExtractOptions(
        database=database,
        tables=[t.strip() for t in tables.split(",") if t.strip()] if tables else None,
        mode="cdc" if mode == "cdc" else "full" if mode == "full" else "incremental",
        workers=workers,
        keep=keep,
        grace_seconds=seconds(retention_grace, "--retention-grace"),
        lookback_seconds=seconds(lookback, "--lookback"),
        compare_keys=compare_keys,
        reader=reader,
        batch_rows=batch_rows,
        row_group_rows=row_group_rows,
        max_file_bytes=max_file_mb * 1024 * 1024,
    )
    lake_uri = lake or default_lake_uri()
    bars = progress_bars("rows", progress)
    try:
        with bars:
            results = extract_dataset(contract, mysql_settings(), lake_uri, options, _Bars(bars))
    except ContractError as exc:
        fail(str(exc), 2)
    except TableFailures as exc:
        if exc.results:
            print_summary(lake_uri, exc.results)
        fail(str(exc))
    except LakehouseError as exc:
        fail(str(exc))
    print_summary(lake_uri, results)


def duckdb_sql_command(
    dataset: Annotated[str, typer.Option(help="The dataset (its folder under raw/).")],
    table: Annotated[str, typer.Option(help="The table.")],
    lake: Annotated[
        str | None,
        typer.Option(help="file:///folder or gs://BUCKET/PREFIX (default: LAKEHOUSE_LAKE_URI, else .local/lake)."),
    ] = None,
) -> None:
    """Print DuckDB SQL that reads a lake table's current rows and columns (read_current's rule)."""
    from ingest.extract.batches import duckdb_sql

    try:
        print(duckdb_sql(lake or default_lake_uri(), dataset, table), end="")
    except LakehouseError as exc:
        fail(str(exc))
