"""`lakehouse-report` (also `python -m reports.business`): the business report of a lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingest.core.lake import default_lake_uri, parse_lake
from reports.business.queries import show_restricted_setting
from reports.business.report import build_report
from reports.business.settings import ReportError


def report(
    lake: Annotated[
        str | None,
        typer.Option(
            help="Lake URI: file:///path or gs://BUCKET/PREFIX (default: LAKEHOUSE_LAKE_URI, else "
            "file://<LAKEHOUSE_LOCAL_DIR or .local>/lake)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the page to this local folder instead of <lake>/reports/ (nothing is uploaded)."),
    ] = None,
    show_restricted: Annotated[
        bool,
        typer.Option(
            help="Show customer and supplier names (restricted, pii); the page then says so in its header "
            "(default: LAKEHOUSE_REPORT_SHOW_RESTRICTED, else keys instead of names)."
        ),
    ] = show_restricted_setting(),
) -> None:
    """Write the business report (one self-contained HTML page of charts) from the lakehouse marts
    to <lake>/reports/business-report-<UTC time>.html and <lake>/reports/latest.html.

    Needs the marts built first: dbt build --select +marts.
    """
    lake_uri = parse_lake(lake or default_lake_uri()).uri
    try:
        page = build_report(lake_uri, out, show_restricted)
    except ReportError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    uploaded = out is None and lake_uri.startswith("gs://")
    where = f"{lake_uri}/reports/latest.html" if uploaded else page.parent / "latest.html"
    typer.echo(f"business report: {page}\nlatest: {where}")


def main() -> None:
    typer.run(report)
