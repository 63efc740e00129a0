"""What every `python -m ingest` command shares: consoles, errors that say what to do, contracts."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from ingest.core.contract import Contract, ContractError, contract_path, load_contract
from ingest.core.settings import MySQLSettings

console = Console(stderr=True)
out = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error that says what to do next, and exit (1: the command failed, 2: bad usage)."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def resolve_contract(dataset: str | None, contract: Path | None) -> Contract:
    """The contract named by --dataset (a shipped one) or --contract FILE; exactly one of them."""
    if (dataset is None) == (contract is None):
        fail("give exactly one of --dataset NAME (a shipped contract) or --contract FILE", 2)
    try:
        return load_contract(contract if contract is not None else contract_path(dataset or ""))
    except (ContractError, ValueError) as exc:
        fail(str(exc), 2)


def mysql_settings() -> MySQLSettings:
    """LAKEHOUSE_MYSQL_URL, or a one-line error that never repeats it (it may hold a password)."""
    try:
        return MySQLSettings.from_env()
    except ValueError as exc:
        fail(str(exc), 2)
