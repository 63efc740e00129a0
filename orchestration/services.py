"""Airflow as production runs it, on one machine: the API server, the scheduler, the DAG processor
and the triggerer as separate processes, with LocalExecutor or CeleryExecutor (two workers, Redis as
the broker), and the metadata on SQLite or PostgreSQL.

`python -m orchestration.services` (`make airflow-services`) starts them until Ctrl+C, and the
scheduler tests and `bench/bench_airflow.py --scheduler` use the same `AirflowServices`. Runs are
triggered and followed through the REST API (`ApiClient`), as an operator, a sensor or a CI job does.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

import typer

from ingest.core.settings import REPO_ROOT, local_dir, settings

Executor = Literal["local", "celery"]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
FINISHED = {"success", "failed"}


def api_time(value: str) -> datetime:
    """A time as Airflow's REST API writes it (ISO 8601, `Z` for UTC)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_broker(url: str) -> None:
    """Fail at once with a clear error when Celery's Redis broker does not answer: otherwise the
    workers wait for it and every task stays queued until the run's timeout."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except redis.RedisError as error:
        raise RuntimeError(
            f"Celery's broker does not answer ({error}); start Redis or set LAKEHOUSE_CELERY_BROKER_URL"
        ) from error


def postgres_database(name: str, fresh: bool = False) -> str:
    """The PostgreSQL database `name` on the server of LAKEHOUSE_AIRFLOW_POSTGRES_URL, created when
    missing (dropped first when `fresh`); its SQLAlchemy URL."""
    import psycopg2
    from psycopg2 import sql

    server = settings().airflow_postgres_url.get_secret_value()
    conn = psycopg2.connect(server)
    conn.autocommit = True
    with conn.cursor() as cursor:
        if fresh:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    from sqlalchemy.engine import make_url

    # The server's URL with its database swapped: its user, host and query options kept.
    url = make_url(server).set(drivername="postgresql+psycopg2", database=name)
    return url.render_as_string(hide_password=False)


@dataclass
class AirflowServices:
    """Airflow's components as child processes of one process group, stopped together."""

    home: Path
    executor: Executor = "local"
    sql_alchemy_conn: str = ""  # Airflow's metadata database; default: SQLite under `home`
    workers: int = 2  # Celery workers
    parallelism: int = 4  # task processes at once per executor (LocalExecutor) or worker (Celery)
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        self.home.mkdir(parents=True, exist_ok=True)
        conn = self.sql_alchemy_conn or f"sqlite:///{self.home / 'airflow.db'}"
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": conn,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if self.executor == "celery" else "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            # Every component signs and checks the workers' tokens with the same key.
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt_secret"),
            # Parsing the DAG file costs about 2 s of CPU (the dbt graph): every 5 minutes, not every 30 s.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "DO_NOT_TRACK": "1",
        }
        if self.executor == "celery":
            env["AIRFLOW__CELERY__BROKER_URL"] = settings().celery_broker_url
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + conn  # the driver kept: psycopg2 is the one installed
            env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(self.parallelism)
        return {**env, **self.extra_env}

    def _secret(self, name: str) -> str:
        """A key kept in `home` (0600), made on first use: the components of one home share it."""
        path = self.home / f".{name}"
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip()

    def _airflow(self, *args: str, env: dict[str, str]) -> None:
        result = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stderr[-3000:]}")

    def start(self, log_dir: Path | None = None) -> None:
        """Migrate the metadata, create the pool, start every component, wait for the API."""
        env = self.environment()
        if self.executor == "celery":
            check_broker(env["AIRFLOW__CELERY__BROKER_URL"])
        self._airflow("db", "migrate", env=env)
        self._airflow("pools", "set", "spark_session", "1", "dbt tasks on the local Spark session", env=env)
        log_dir = log_dir or self.home / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        components = {
            "api-server": ["api-server", "--workers", "1"],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer"],
        }
        if self.executor == "celery":
            for n in range(1, self.workers + 1):
                components[f"celery-worker{n}"] = ["celery", "worker", "-H", f"worker{n}@%h"]
        for name, command in components.items():
            with (log_dir / f"{name}.log").open("ab") as log:
                self.processes.append(
                    subprocess.Popen(
                        [AIRFLOW, *command], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        self.wait_until_healthy()

    def wait_until_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"an Airflow component exited ({process.args!r}); see {self.home / 'logs'}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5) as response:
                    health = json.loads(response.read())
                if health.get("scheduler", {}).get("status") == "healthy" and (
                    health.get("triggerer", {}).get("status") == "healthy"
                ):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(1)
        raise TimeoutError(f"Airflow at {self.url} was not healthy after {timeout:.0f} s")

    def stop(self) -> None:
        """SIGTERM to every component's group, then SIGKILL to what is left after 30 s."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def client(self) -> ApiClient:
        return ApiClient(self.url, "admin", self.admin_password())

    def admin_password(self) -> str:
        path = self.home / "simple_auth_manager_passwords.json.generated"
        return str(json.loads(path.read_text())["admin"])

    def __enter__(self) -> AirflowServices:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class ApiClient:
    """Airflow's REST API (v2) with a token from the simple auth manager."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        request = urllib.request.Request(
            f"{url}/auth/token",
            data=json.dumps({"username": username, "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            self.token = json.loads(response.read())["access_token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: HTTP {error.code}: {error.read()[:500]!r}") from error

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Until the DAG processor has parsed `dag_id` into the metadata."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.call("GET", f"/dags/{dag_id}")
                return
            except RuntimeError:
                time.sleep(2)
        raise TimeoutError(f"{dag_id} was not parsed after {timeout:.0f} s")

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """Unpause `dag_id` and trigger a run with `conf`; its run id."""
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        run = self.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    @staticmethod
    def _run_path(dag_id: str, run_id: str) -> str:
        return f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"  # a run id holds `:` and `+`

    def asset_events(self, run_id: str) -> list[dict[str, Any]]:
        """The asset events a run's tasks emitted (the first 100)."""
        query = urlencode({"source_run_id": run_id, "limit": 100})
        return list(self.call("GET", f"/assets/events?{query}")["asset_events"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 1800) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run: dict[str, Any] = self.call("GET", self._run_path(dag_id, run_id))
            if run["state"] in FINISHED:
                return run
            time.sleep(2)
        raise TimeoutError(f"{dag_id} {run_id} did not finish in {timeout:.0f} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", f"{self._run_path(dag_id, run_id)}/taskInstances?limit=100&offset={len(rows)}")
            rows += page["task_instances"]
            if len(rows) >= page["total_entries"] or not page["task_instances"]:
                return rows


def main(
    executor: Annotated[str, typer.Option(help="local, or celery (two workers; Redis on 127.0.0.1:6379)")] = "local",
    database: Annotated[str, typer.Option(help="sqlite, or postgres (database lakehouse_airflow on 127.0.0.1)")] = (
        "sqlite"
    ),
) -> None:
    """Start Airflow's components until Ctrl+C; print where the UI is and how to sign in."""
    if executor not in ("local", "celery") or database not in ("sqlite", "postgres"):
        raise typer.BadParameter("--executor local|celery, --database sqlite|postgres")
    home = local_dir() / "airflow" if database == "sqlite" else local_dir() / "airflow-postgres"
    conn = postgres_database("lakehouse_airflow") if database == "postgres" else ""
    services = AirflowServices(home=home, executor=executor, sql_alchemy_conn=conn)  # type: ignore[arg-type]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    with services:
        print(
            f"Airflow ({executor} executor, {database} metadata) on {services.url}: user admin, "
            f"password {services.admin_password()}; logs in {home / 'logs'}; Ctrl+C stops it",
            flush=True,
        )
        try:
            while not stopping and all(p.poll() is None for p in services.processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    print("airflow-services: stopped", flush=True)


if __name__ == "__main__":
    typer.run(main)
