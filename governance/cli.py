"""`python -m governance`: emit DataHub metadata, save dbt's run results, check the policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table as RichTable

from governance.browse import lineage, load_into_lite
from governance.emit import emit_metadata, metadata_path
from governance.errors import GovernanceError
from governance.pipelines import SINKS
from governance.policy import check_manifest
from governance.run_results import save_run_results
from ingest.core.errors import LakehouseError
from ingest.core.lake import default_lake_uri
from ingest.core.settings import local_dir, settings

app = typer.Typer(
    help="Governance in DataHub: metadata, lineage from CSV file to report, and the policy check.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # rich tracebacks print local variables, recipes (and tokens) included
)
console = Console(stderr=True)


def _target(path: Path | None) -> Path:
    """--target-path, else DBT_TARGET_PATH, else target/ (dbt's own default)."""
    return path or settings().dbt_target_path


@app.command()
def emit(
    sink: Annotated[str, typer.Option(help=f"Where to: {', '.join(SINKS)} (the file is always written).")] = "file",
    target_path: Annotated[
        Path | None, typer.Option(help="dbt's target folder (default $DBT_TARGET_PATH or target).")
    ] = None,
    lake: Annotated[str | None, typer.Option(help="The lake (default $LAKEHOUSE_LAKE_URI or .local/lake).")] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(help="Only this dataset's raw zone and ingest lineage (repeatable; default: every one)."),
    ] = None,
    airflow_metadata: Annotated[
        Path | None,
        typer.Option(help="What DataHub's Airflow plugin sent to the collector, merged in."),
    ] = None,
) -> None:
    """Emit dbt metadata (with test results), the glossary, the lake's datasets and the ingest lineage.

    Run after `dbt build`, `python -m governance save-run-results` and `dbt docs generate`.
    """
    try:
        path = emit_metadata(
            _target(target_path), lake or default_lake_uri(), sink, datasets=dataset, airflow_metadata=airflow_metadata
        )
    except LakehouseError as exc:  # the emit's own, the lake's, DataHub's data-lake source's
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"metadata written to {path}" + (f" and sent to the {sink} sink" if sink != "file" else ""))


@app.command("save-run-results")
def save_run_results_command(
    target_path: Annotated[Path | None, typer.Option(help="dbt's target folder.")] = None,
) -> None:
    """Copy run_results.json right after `dbt build` (`dbt docs generate` overwrites it)."""
    try:
        console.print(f"saved {save_run_results(_target(target_path))}")
    except GovernanceError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def check(
    manifest: Annotated[Path | None, typer.Option(help="dbt's manifest.json (default <target>/manifest.json).")] = None,
    catalog: Annotated[Path | None, typer.Option(help="Also check the columns dbt's catalog.json finds.")] = None,
) -> None:
    """Fail when a model lacks an owner, a description, a domain, a tier or an access level, or when a
    column that looks personal lacks its tag (rules: governance/policy.py)."""
    path = manifest or _target(None) / "manifest.json"
    if not path.exists():
        console.print(f"[red]error:[/red] {path} does not exist: run `dbt parse` first")
        raise typer.Exit(2)
    violations = check_manifest(path, catalog)
    for violation in violations:
        console.print(f"[red]policy:[/red] {violation}")
    if violations:
        console.print(f"{len(violations)} violation(s); fix the models' YAML and run `dbt parse`")
        raise typer.Exit(1)
    console.print(f"policy check passed: {path}")


@app.command("lineage")
def lineage_command(
    model: Annotated[str, typer.Argument(help="A dbt model or source table, e.g. rpt_pricing_summary.")],
    lake: Annotated[str | None, typer.Option(help="The lake (default $LAKEHOUSE_LAKE_URI or .local/lake).")] = None,
    lite_file: Annotated[
        Path | None, typer.Option(help="DataHub Lite's file (default <LAKEHOUSE_LOCAL_DIR>/datahub-lite/datahub.db).")
    ] = None,
) -> None:
    """Load the pipeline's metadata (<lake>/governance/metadata.json) into DataHub Lite and show the
    lineage of MODEL back to its CSV files, read from Lite. Browse further with `datahub lite`."""
    lite = lite_file or local_dir() / "datahub-lite" / "datahub.db"
    try:
        load_into_lite(metadata_path(lake or default_lake_uri()), lite)
        hops = lineage(lite, model)
    except GovernanceError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    table = RichTable(title=f"{model}: upstream lineage in DataHub Lite ({lite})")
    for column in ("hops", "platform", "dataset"):
        table.add_column(column, overflow="fold")
    for hop in hops:
        table.add_row(str(hop.depth), hop.platform, hop.name)
    Console().print(table)
    files = [hop for hop in hops if hop.platform == "file" and hop.name.endswith(".csv")]
    console.print(f"{len(hops) - 1} upstream datasets; CSV files: {', '.join(h.name for h in files) or 'none'}")


@app.command("superset")
def superset_command(
    url: Annotated[str, typer.Option(help="Superset's address, e.g. http://127.0.0.1:8088 (`make bi`).")],
    password_file: Annotated[
        Path, typer.Option(help="A file holding the user's password (make bi: .local/bi/admin_password).")
    ],
    username: Annotated[str, typer.Option(help="A Superset user who can read every dashboard.")] = "admin",
    lake: Annotated[str | None, typer.Option(help="The lake (default $LAKEHOUSE_LAKE_URI or .local/lake).")] = None,
) -> None:
    """Add Superset's dashboards, charts and datasets (DataHub's superset source) to the lake's
    metadata file, with lineage from each dashboard to the dbt models its charts read."""
    from governance.superset_source import add_superset_metadata

    try:
        password = password_file.read_text(encoding="utf-8").strip()
        path = add_superset_metadata(lake or default_lake_uri(), url.rstrip("/"), username, password)
    except (GovernanceError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"Superset's dashboards added to {path}")


def main() -> None:
    app()
