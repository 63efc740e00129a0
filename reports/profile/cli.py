"""`lakehouse-profile`: the data-profile page of a dataset in the lake (any contract)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingest.core.console import resolve_contract
from ingest.core.errors import LakehouseError
from ingest.core.lake import default_lake_uri, parse_lake
from reports.profile.build import build_profile


def profile(
    dataset: Annotated[str | None, typer.Option(help="A shipped contract (ingest/contracts/NAME.yml).")] = None,
    contract_file: Annotated[Path | None, typer.Option("--contract", help="A contract file.")] = None,
    lake: Annotated[
        str | None, typer.Option(help="Lake URI (default: LAKEHOUSE_LAKE_URI, else the local lake).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the page to this local folder instead of <lake>/reports/.")
    ] = None,
) -> None:
    """Profile the dataset's tables as extracted to the lake (rows, nulls, distinct values,
    distributions, top values, rows over time) into <lake>/reports/profile-<dataset>.html."""
    contract = resolve_contract(dataset, contract_file)
    lake_uri = parse_lake(lake or default_lake_uri()).uri
    try:
        page = build_profile(contract, lake_uri, out)
    except LakehouseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"profile of {contract.dataset}: {page}")


def main() -> None:
    typer.run(profile)
