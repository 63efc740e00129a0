"""The dbt docs site: publish `dbt docs generate` output beside the lake, and serve it locally.

`dbt docs generate --static` writes, next to the usual `index.html` + `manifest.json` +
`catalog.json`, a `static_index.html` that carries the manifest and catalog inside: one file that
renders from a disk, a bucket or any web server. `publish` copies the site to `<lake>/docs/`
(`gs://BUCKET/PREFIX/docs/` in production), the static page as `index.html` when it is there (else
dbt's app, which fetches the two JSON files beside it), `index.html` last, each file replaced
atomically on a local lake and uploaded with checksums on GCS (`ingest.core.lake.publish`).

    dbt docs generate --static
    python -m reports.docs_site publish [--target-path target] [--lake URI]
    python -m reports.docs_site serve [--port 8080] [--lake URI]   # then open http://127.0.0.1:8080/
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ingest.core import lake as lakes
from ingest.core.errors import DataError, LakehouseError
from ingest.core.settings import local_dir, settings

REQUIRED = ("index.html", "manifest.json", "catalog.json")


class DocsError(DataError):
    """The docs cannot be published or served; the message says what to do next."""


def default_target_dir() -> Path:
    """Where dbt wrote its artifacts: DBT_TARGET_PATH, else `<repo>/target`."""
    return settings().dbt_target_path


def site_files(target_dir: Path) -> dict[str, Path]:
    """The files of the site, by their published name, `index.html` last."""
    missing = [name for name in REQUIRED if not (target_dir / name).is_file()]
    if missing:
        raise DocsError(
            f"{target_dir} has no {', '.join(missing)}: run `dbt docs generate --static` first "
            "(with --target-path, or DBT_TARGET_PATH, if dbt writes elsewhere)"
        )
    index = target_dir / "index.html"
    static = target_dir / "static_index.html"
    # The static page embeds the manifest and catalog: prefer it unless an older run left it behind.
    if static.is_file() and static.stat().st_mtime >= (target_dir / "catalog.json").stat().st_mtime - 1:
        index = static
    return {
        "manifest.json": target_dir / "manifest.json",
        "catalog.json": target_dir / "catalog.json",
        "index.html": index,
    }


def _replace_file(source: Path, target: Path) -> None:
    """Copy under a hidden temporary name in the target's folder, then rename over the target."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def publish_docs(target_dir: Path, lake_uri: str) -> str:
    """Publish the docs site in `target_dir` to `<lake>/docs/`; returns the address of its index.html."""
    files = site_files(Path(target_dir))
    lake = lakes.parse_lake(lake_uri)
    lakes.check(lake)
    if lake.scheme == "file":
        assert lake.root is not None
        docs = lake.root / "docs"
        docs.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            _replace_file(source, docs / name)
        return (docs / "index.html").as_uri()
    staging = lakes.staging_root(lake) / f"docs-{os.getpid()}-{time.time_ns()}"
    staging.mkdir(parents=True)
    for name, source in files.items():
        shutil.copyfile(source, staging / name)
    lakes.publish(lake, staging, "docs", "index.html")
    return lakes.url(lake, "docs/index.html")


def local_docs_dir(lake_uri: str) -> Path:
    """A local folder holding `<lake>/docs/`: the folder itself, or a fresh download of a `gs://` one."""
    lake = lakes.parse_lake(lake_uri)
    if lake.scheme == "file":
        assert lake.root is not None
        folder = lake.root / "docs"
    else:
        folder = local_dir() / "docs-site" / f"{lake.bucket}-{lake.prefix.replace('/', '_') or 'root'}"
        shutil.rmtree(folder, ignore_errors=True)
        for key in lakes.list_files(lake, "docs"):
            path = lakes.local_path_for(folder, key.removeprefix("docs/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(lakes.read_bytes(lake, key))
    if not (folder / "index.html").is_file():
        raise DocsError(
            f"no docs site at {lake.uri}/docs/: run `dbt docs generate --static` and "
            "`python -m reports.docs_site publish` first"
        )
    return folder


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files; logs one short line per request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def make_server(directory: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP server for `directory` (port 0: a free one; read it from `server.server_address`)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    return ThreadingHTTPServer((host, port), handler)


app = typer.Typer(
    help="Publish the dbt docs site to <lake>/docs/ and browse it locally.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
LakeOption = Annotated[
    str | None, typer.Option(help="Lake URI (default: LAKEHOUSE_LAKE_URI, else file://<.local>/lake).")
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def publish(
    target_path: Annotated[
        Path | None, typer.Option(help="dbt's target folder (default: DBT_TARGET_PATH, else target).")
    ] = None,
    lake: LakeOption = None,
) -> None:
    """Copy dbt's docs (after `dbt docs generate --static`) to <lake>/docs/: index.html (the
    self-contained static_index.html when present), manifest.json and catalog.json, index.html last."""
    try:
        published = publish_docs(target_path or default_target_dir(), lake or lakes.default_lake_uri())
    except LakehouseError as exc:
        _fail(str(exc))
    typer.echo(f"dbt docs published: {published}")


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8080,
    bind: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    lake: LakeOption = None,
) -> None:
    """Serve <lake>/docs/ at http://127.0.0.1:PORT/ on this machine only (a gs:// lake's docs are
    downloaded first). Ctrl+C stops."""
    lake_uri = lake or lakes.default_lake_uri()
    try:
        server = make_server(local_docs_dir(lake_uri), bind, port)
    except LakehouseError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot listen on {bind}:{port} ({exc}); pick another --port")
    host, bound = server.server_address[:2]
    typer.echo(f"Serving the dbt docs of {lake_uri} at http://{host!s}:{bound}/ (Ctrl+C stops)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
