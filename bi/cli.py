"""`python -m bi`: Superset on the lakehouse (`make bi`), and the dashboards as code."""

from __future__ import annotations

import json
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bi.bundle import bundle, write_bundle, zip_bundle
from bi.dataset_dashboards import models_in_lake, stage_views, write_dataset_dashboards
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
console = Console(stderr=True, soft_wrap=True)  # a URL or password is never broken across lines


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


def thrift_connection() -> Any:
    from pyhive import hive

    chosen = settings()
    return hive.connect(host=chosen.spark_thrift_host, port=chosen.spark_thrift_port, username=chosen.spark_thrift_user)


def committed_dashboards() -> list[Path]:
    """The dashboards as code in the repository: each folder of bi/dashboards/."""
    return sorted(p for p in DASHBOARDS.iterdir() if (p / "metadata.yaml").exists())


def generated_dashboards(cursor: Any, manifest_path: Path, lake_uri: str) -> list[Path]:
    """A dashboard for each dataset in the lake, from its staging views (bi/generated.py)."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    present = models_in_lake(manifest, lake_uri)
    names = [m["name"] for models in present.values() for m in models]
    if not names:
        return []
    made, failed = stage_views(names, state_dir() / "staging-views")
    if failed:
        console.print(f"[yellow]some staging views could not be made; their tables are left out:[/yellow]\n{failed}")
    return write_dataset_dashboards(cursor, manifest, present, made, state_dir() / "dashboards")


def import_dashboards(folders: list[Path], env: dict[str, str]) -> None:
    """Import each bundle folder, with the Thrift server's URI."""
    with tempfile.TemporaryDirectory() as scratch:
        for folder in folders:
            archive = Path(scratch) / f"{folder.name}.zip"
            archive.write_bytes(zip_bundle(folder, thrift_uri()))
            import_bundle(archive, env)


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
            connection = thrift_connection()
            try:
                cursor = connection.cursor()
                tables = lake_tables(manifest, lake_uri)
                register(cursor, tables)
                console.print(f"{len(tables)} dbt tables of {lake_uri} on the Thrift server")
                dashboards = [*committed_dashboards(), *generated_dashboards(cursor, manifest, lake_uri)]
            finally:
                connection.close()
            password = set_up(env)
            import_dashboards(dashboards, env)
            server = SupersetServer(port or settings().bi_port, env, state_dir() / "superset.log")
            try:
                server.start()
                api = SupersetApi.sign_in(server.url, "admin", password)
                api.sync_columns([d["id"] for d in api.all("dataset")])
                names = ", ".join(p.name for p in dashboards)
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
