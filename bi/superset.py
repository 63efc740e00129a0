"""Superset in its own environment (.venv-bi): its commands, its first-start set-up, its server and
its REST API.

The project's code runs in .venv and drives Superset through its CLI and its HTTP API, as
governance drives DataHub's in .venv-governance: Superset pins SQLAlchemy 1.4, Flask 3.1 and
pandas 2.1, which Airflow 3 cannot share.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.core.errors import DataError
from ingest.core.settings import REPO_ROOT, local_dir, settings

BI_VENV = REPO_ROOT / ".venv-bi"
CONFIG = REPO_ROOT / "bi" / "superset_config.py"
ADMIN = "admin"


class SupersetError(DataError):
    """Superset cannot be set up or does not answer; the message says what to do next."""


def state_dir() -> Path:
    folder = local_dir() / "bi"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def kept_secret(path: Path) -> str:
    """A random secret kept in `path` (0600), made on first use."""
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()


def superset_env() -> dict[str, str]:
    """The environment of every Superset command: its config file, key, metadata and cache."""
    chosen = settings()
    state = state_dir()
    key = chosen.bi_secret_key.get_secret_value() if chosen.bi_secret_key else kept_secret(state / "secret_key")
    database = (
        chosen.bi_database_uri.get_secret_value()
        if chosen.bi_database_uri
        else f"sqlite:///{state / 'superset.db'}?check_same_thread=false"
    )
    return {
        **os.environ,
        "PATH": f"{BI_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "SUPERSET_CONFIG_PATH": str(CONFIG),
        "SUPERSET_SECRET_KEY": key,
        "SUPERSET_DATABASE_URI": database,
        "SUPERSET_CACHE_DIR": os.environ.get("SUPERSET_CACHE_DIR", str(state / "cache")),
        "SUPERSET_HOME": str(state / "home"),
        "FLASK_APP": "superset",
        "SUPERSET_LOAD_EXAMPLES": "no",
    }


def superset(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run `superset <args>` in .venv-bi; its output, or SupersetError with its last lines."""
    binary = BI_VENV / "bin" / "superset"
    if not binary.exists():
        raise SupersetError(f"{binary} is missing: run `make bi` (it installs .venv-bi from requirements-bi.txt)")
    result = subprocess.run(
        [str(binary), *args], env=env or superset_env(), capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise SupersetError(f"superset {args[0]} failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout + result.stderr


def set_up(env: dict[str, str]) -> str:
    """Superset's metadata migrated, its roles made, and the admin account on first start; the
    admin's password (kept in .local/bi/admin_password, 0600)."""
    password_file = state_dir() / "admin_password"
    first = not password_file.exists()
    password = kept_secret(password_file)
    superset("db", "upgrade", env=env)
    if first or ADMIN not in superset("fab", "list-users", env=env):
        superset(
            "fab", "create-admin", "--username", ADMIN, "--firstname", "Lakehouse", "--lastname", "Admin",
            "--email", "admin@lakehouse.example", "--password", password, env=env,
        )  # fmt: skip
        superset("init", env=env)
    return password


def import_bundle(zip_path: Path, env: dict[str, str]) -> None:
    """Import dashboards, charts, datasets and the database of a bundle; objects of the same UUID
    are overwritten, so re-importing never adds copies."""
    output = superset("import-dashboards", "--path", str(zip_path), "--username", ADMIN, env=env)
    if "error" in output.lower() and "Traceback" in output:  # the command logs a failure and exits 0 on some
        raise SupersetError(f"the import of {zip_path.name} failed:\n{output[-3000:]}")


@dataclass
class SupersetServer:
    """Superset's web server (gunicorn, as production runs it) on 127.0.0.1."""

    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> None:
        command = [
            str(BI_VENV / "bin" / "gunicorn"),
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "1", "--threads", "8", "--worker-class", "gthread",
            "--timeout", "300", "--limit-request-line", "0", "--limit-request-field_size", "0",
            "superset.app:create_app()",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SupersetError(f"Superset exited at start; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    if response.read().strip() == b"OK":
                        return
            except OSError:
                pass
            time.sleep(1)
        raise SupersetError(f"Superset did not answer on {self.url} within {timeout:.0f} s; see {self.log}")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


@dataclass
class SupersetApi:
    """Superset's REST API as a signed-in user (a JWT from /api/v1/security/login)."""

    url: str
    token: str
    opener: urllib.request.OpenerDirector = field(
        default_factory=lambda: urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    )
    csrf: str = ""  # writes need a CSRF token and the session cookie it came with, even with a JWT

    @classmethod
    def sign_in(cls, url: str, username: str, password: str) -> SupersetApi:
        body = {"username": username, "password": password, "provider": "db", "refresh": False}
        request = urllib.request.Request(
            f"{url}/api/v1/security/login",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return cls(url, json.loads(response.read())["access_token"])

    def call(self, method: str, path: str, body: Any = None, timeout: float = 600) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        if method != "GET":
            if not self.csrf:
                self.csrf = str(self.call("GET", "/api/v1/security/csrf_token/")["result"])
            headers |= {"X-CSRFToken": self.csrf, "Referer": self.url}
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers=headers,
        )
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise SupersetError(f"{method} {path}: HTTP {error.code}: {error.read()[:2000]!r}") from error

    def all(self, resource: str) -> list[dict[str, Any]]:
        """Every object of `resource` (dashboard, chart, dataset, database), one page of 100 at a time."""
        found: list[dict[str, Any]] = []
        page = 0
        while True:
            query = f"(page:{page},page_size:100)"
            result = self.call("GET", f"/api/v1/{resource}/?q={query}")["result"]
            found += result
            if len(result) < 100:
                return found
            page += 1

    def chart_id(self, name: str) -> int:
        [chart] = [c for c in self.all("chart") if c["slice_name"] == name]
        return int(chart["id"])

    def chart_query(
        self, chart_id: int, filters: list[dict[str, Any]] | None = None, force: bool = False
    ) -> dict[str, Any]:
        """The chart-data request of a saved chart, as the dashboard's frontend builds it from the
        chart's form data: its metrics over its dimensions (the x-axis first), plus `filters`
        (`{"col": ..., "op": "IN", "val": [...]}`, what a native filter adds); `force` skips the cache."""
        chart = self.call("GET", f"/api/v1/chart/{chart_id}")["result"]
        params = json.loads(chart["params"])
        metrics = params.get("metrics") or ([params["metric"]] if params.get("metric") else [])
        columns = params.get("groupby") or params.get("all_columns") or []
        if params.get("x_axis"):
            columns = [params["x_axis"], *columns]
        query = {"columns": columns, "metrics": metrics, "filters": filters or [], "row_limit": 10000}
        return {
            "datasource": {"id": int(params["datasource"].split("__")[0]), "type": "table"},
            "queries": [query],
            "result_format": "json",
            "result_type": "full",
            "force": force,
        }

    def chart_data(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of a chart-data request (SupersetError if Superset or the database failed)."""
        [result] = self.call("POST", "/api/v1/chart/data", request)["result"]
        if result.get("error"):
            raise SupersetError(f"chart data failed: {result['error']}")
        return list(result["data"])

    def sync_columns(self, dataset_ids: list[int]) -> None:
        """Each dataset's columns and their types read again from the Thrift server: the bundle lists
        the columns its charts use, and the lake's tables may have more."""
        for dataset_id in dataset_ids:
            self.call("PUT", f"/api/v1/dataset/{dataset_id}/refresh")
