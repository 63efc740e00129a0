"""`python -m bi`: Superset on the lakehouse (`make bi`), and the dashboards as code."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bi.bundle import bundle, write_bundle, zip_bundle
from bi.lake_tables import lake_tables, register
from bi.superset import SupersetApi, SupersetServer, import_bundle, set_up, state_dir, superset_env
from bi.tpch import DASHBOARD
from ingest.core.errors import LakehouseError
from ingest.core.lake import default_lake_uri
from ingest.core.settings import REPO_ROOT, settings

DASHBOARDS = REPO_ROOT / "bi" / "dashboards"
THRIFT_SCRIPT = REPO_ROOT / "scripts" / "spark-thrift.sh"

app = typer.Typer(
    help="Superset dashboards on the lakehouse's Spark Thrift server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


def thrift_uri() -> str:
    chosen = settings()
    return f"hive://{chosen.spark_thrift_user}@{chosen.spark_thrift_host}:{chosen.spark_thrift_port}/default"


@contextmanager
def thrift_server() -> Iterator[bool]:
    """The Thrift server of SPARK_THRIFT_HOST:PORT; the local one is started when none answers,
    and stopped on exit only if started here. True if started here."""
    answering = subprocess.run([str(THRIFT_SCRIPT), "status"], capture_output=True).returncode == 0
    if not answering:
        subprocess.run([str(THRIFT_SCRIPT), "start"], check=True)
    try:
        yield not answering
    finally:
        if not answering:
            subprocess.run([str(THRIFT_SCRIPT), "stop"], check=False)


def serve_lake_tables(lake_uri: str, manifest: Path) -> int:
    """Register the lake's dbt tables on the Thrift server; how many."""
    from pyhive import hive

    tables = lake_tables(manifest, lake_uri)
    chosen = settings()
    connection = hive.connect(
        host=chosen.spark_thrift_host, port=chosen.spark_thrift_port, username=chosen.spark_thrift_user
    )
    try:
        register(connection.cursor(), tables)
    finally:
        connection.close()
    return len(tables)


def import_dashboards(env: dict[str, str]) -> list[Path]:
    """Every bundle under bi/dashboards/ imported, with the Thrift server's URI."""
    folders = sorted(p for p in DASHBOARDS.iterdir() if (p / "metadata.yaml").exists())
    with tempfile.TemporaryDirectory() as scratch:
        for folder in folders:
            archive = Path(scratch) / f"{folder.name}.zip"
            archive.write_bytes(zip_bundle(folder, thrift_uri()))
            import_bundle(archive, env)
    return folders


@app.command()
def serve(
    lake: Annotated[str | None, typer.Option(help="The lake (default LAKEHOUSE_LAKE_URI or .local/lake).")] = None,
    port: Annotated[int | None, typer.Option(help="Superset's port (default LAKEHOUSE_BI_PORT, 8088).")] = None,
    target_path: Annotated[Path | None, typer.Option(help="dbt's target folder, for manifest.json.")] = None,
) -> None:
    """Start the Thrift server over the lake, Superset with the dashboards imported; Ctrl+C stops both."""
    try:
        lake_uri = lake or default_lake_uri()
        manifest = (target_path or settings().dbt_target_path) / "manifest.json"
        env = superset_env()
        with thrift_server():
            count = serve_lake_tables(lake_uri, manifest)
            console.print(f"{count} dbt tables of {lake_uri} on the Thrift server")
            password = set_up(env)
            imported = import_dashboards(env)
            server = SupersetServer(port or settings().bi_port, env, state_dir() / "superset.log")
            try:
                server.start()
                api = SupersetApi.sign_in(server.url, "admin", password)
                api.sync_columns([d["id"] for d in api.all("dataset")])
                names = ", ".join(p.name for p in imported)
                console.print(f"Superset on {server.url} (user admin, password {password}); dashboards: {names}")
                console.print(f"log {server.log}; Ctrl+C stops Superset and the Thrift server it started")
                while server.running():
                    time.sleep(1)
                raise typer.Exit(1)  # Superset stopped on its own: its log says why
            finally:
                server.stop()
    except KeyboardInterrupt:
        console.print("stopped")
    except LakehouseError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error


@app.command()
def export(folder: Annotated[Path, typer.Option(help="Where to write the bundle.")] = DASHBOARDS / "tpch") -> None:
    """Write the TPC-H dashboard (bi/tpch.py) as Superset's export files, the dashboards as code."""
    write_bundle(bundle(DASHBOARD), folder)
    console.print(f"wrote {folder}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops `serve` as Ctrl+C does: everything it started stops


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    app()
