"""Benchmark: what Airflow and Cosmos cost, side by side in one run.

1. DAG parse time of both DAG files (the dbt graph rendered from the manifest), each in a fresh
   process, Cosmos's cache off: the import of Airflow and the parse of the file, apart.
2. The whole pipeline at each `--scale` as plain commands (load, extract, `dbt build`, docs,
   governance, report) vs through Airflow (`airflow dags test lakehouse_pipeline`, what
   `make demo` runs) with the dbt project as one `dbt build` per run (Cosmos watcher mode, the
   default) and, before it, a dbt command per model and per model's tests (`per_model`).
3. With `--scheduler`, the same pipeline as production runs it: Airflow's API server, scheduler,
   DAG processor and triggerer as separate processes on PostgreSQL metadata
   (`orchestration.services.AirflowServices`), the run triggered and followed through the REST API,
   with LocalExecutor and with CeleryExecutor and two workers (Redis as the broker). Each prints its
   task-instance count and Airflow's own seconds (the run's start to its end, as the API reports it).

Usage: .venv/bin/python bench/bench_airflow.py --scale 0.01 0.1 1 [--executions watcher per_model] [--scheduler]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
console = Console(width=120)

PARSE_PROBE = """
import sys, time
started = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter()
bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(imported - started, time.perf_counter() - imported)
"""


def parse_seconds(dag_file: Path, env: dict[str, str], repeat: int = 3) -> tuple[float, float]:
    """(seconds importing Airflow, seconds parsing the file): the best of `repeat` fresh processes."""
    runs = []
    for _ in range(repeat):
        result = subprocess.run(
            [sys.executable, "-c", PARSE_PROBE, str(dag_file)], env=env, capture_output=True, text=True, check=True
        )
        imported, parsed = (float(v) for v in result.stdout.split()[-2:])
        runs.append((imported, parsed))
    return min(runs, key=lambda r: r[1])


def bench_parse(env: dict[str, str]) -> list[tuple[str, float, float]]:
    env = {**env, "AIRFLOW__COSMOS__ENABLE_CACHE": "False"}
    rows = []
    for execution in ("watcher", "per_model"):
        for name in ("lakehouse_pipeline", "lakehouse_dataproc"):
            dag_file = REPO / "dags" / f"{name}.py"
            imported, parsed = parse_seconds(dag_file, {**env, "LAKEHOUSE_DBT_EXECUTION": execution})
            rows.append((f"{name}.py ({execution})", imported, parsed))
    return rows


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def scheduler_run(executor: str, csv: Path, database: str, scale: float, env: dict[str, str]) -> dict[str, float]:
    """One run of lakehouse_pipeline through a running scheduler: wall seconds from the trigger to
    the run's end, Airflow's own seconds, and the task instances it made."""
    from orchestration.services import AirflowServices, api_time, postgres_database

    subprocess.run([str(REPO / "scripts" / "postgres-local.sh"), "ensure"], check=True, env=env)
    metadata = postgres_database(f"bench_airflow_{executor}", fresh=True)
    services = AirflowServices(
        home=Path(env["AIRFLOW_HOME"]),
        executor=executor,  # type: ignore[arg-type]
        sql_alchemy_conn=metadata,
        extra_env={k: v for k, v in env.items() if not k.startswith("DBT_") and k != "PATH"},
    )
    with services:
        client = services.client()
        client.wait_for_dag("lakehouse_pipeline")
        started = time.perf_counter()
        run_id = client.trigger("lakehouse_pipeline", {"source": str(csv), "database": database, "tpch_scale": scale})
        run = client.wait_for_run("lakehouse_pipeline", run_id, timeout=3 * 3600)
        wall = time.perf_counter() - started
        tasks = client.task_instances("lakehouse_pipeline", run_id)
    if run["state"] != "success":
        failed = [t["task_id"] for t in tasks if t["state"] == "failed"]
        raise SystemExit(f"the {executor} scheduler's run failed: {failed}; logs in {services.home / 'logs'}")
    own = api_time(run["end_date"]) - api_time(run["start_date"])
    return {"wall": wall, "airflow": own.total_seconds(), "task_instances": len(tasks)}


def bench_pipeline(
    scale: float, base_env: dict[str, str], executions: list[str], schedulers: list[str]
) -> dict[str, float]:
    tag = f"sf{scale:g}".replace(".", "_")
    csv = REPO / ".local" / "bench" / f"tpch-sf{scale:g}"
    if not (csv / "lineitem.csv").exists():
        timed([str(BIN / "tpchgen-cli"), "csv", "-s", f"{scale:g}", "--output-dir", str(csv)], base_env)
    times: dict[str, float] = {}
    for mode in ("plain", *executions, *(f"scheduler_{e}" for e in schedulers)):
        state = REPO / ".local" / "bench" / f"pipeline-{mode}-{tag}"
        shutil.rmtree(state, ignore_errors=True)
        env = {
            **base_env,
            "LAKEHOUSE_LOCAL_DIR": str(state),
            "LAKEHOUSE_LAKE_URI": f"file://{state}/lake",
            "AIRFLOW_HOME": str(state / "airflow"),
            "DBT_TARGET_PATH": str(state / "dbt-target"),
            "DBT_LOG_PATH": str(state / "dbt-logs"),
            "LAKEHOUSE_DBT_EXECUTION": mode if mode in ("watcher", "per_model") else "watcher",
        }
        database = f"bench_{mode}_{tag}"
        subprocess.run(
            ["mysql", "-uroot", "-h127.0.0.1", "-e", f"DROP DATABASE IF EXISTS {database}"], check=False, env=env
        )
        if mode == "plain":
            py = [sys.executable, "-m"]
            steps = {
                "load": [*py, "ingest", "load", "--dataset", "tpch", "--source", str(csv), "--database", database],
                "extract": [*py, "ingest", "extract", "--dataset", "tpch", "--database", database],
                "dbt build": [str(BIN / "dbt"), "build", "--target", "local"],
                "governance: keep the results": [*py, "governance", "save-run-results"],
                "docs": [str(BIN / "dbt"), "docs", "generate", "--static", "--target", "local"],
                "governance: check": [*py, "governance", "check"],
                "governance: emit": [*py, "governance", "emit"],
                "publish docs": [*py, "reports.docs_site", "publish", "--target-path", str(state / "dbt-target")],
                "report": [*py, "reports.business"],
            }
            for name, command in steps.items():
                times[f"plain: {name}"] = timed(command, env)
            times["plain"] = sum(times[f"plain: {name}"] for name in steps)
            console.print(f"SF {scale:g} plain commands: {times['plain']:.0f} s")
        elif mode.startswith("scheduler_"):
            run = scheduler_run(mode.removeprefix("scheduler_"), csv, database, scale, env)
            times[mode] = run["wall"]
            times[f"{mode}: airflow seconds"] = run["airflow"]
            times[f"{mode}: task instances"] = run["task_instances"]
            console.print(f"SF {scale:g} {mode}: {run}")
        else:
            airflow = str(BIN / "airflow")
            timed([airflow, "db", "migrate"], env)
            timed([airflow, "pools", "set", "spark_session", "1", "session-mode Spark"], env)
            conf = json.dumps({"source": str(csv), "database": database, "tpch_scale": scale})
            times[mode] = timed([airflow, "dags", "test", "lakehouse_pipeline", "-c", conf], env)
            console.print(f"SF {scale:g} dags test ({mode}): {times[mode]:.0f} s")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    parser.add_argument("--executions", nargs="+", default=["watcher", "per_model"], choices=["watcher", "per_model"])
    parser.add_argument(
        "--scheduler", action="store_true", help="also through a running scheduler: LocalExecutor and Celery"
    )
    parser.add_argument("--skip-pipeline", action="store_true", help="only the parse-time comparison")
    parser.add_argument("--out", default="airflow.json", help="results file under bench/results/")
    args = parser.parse_args()
    env = {
        **os.environ,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "AIRFLOW_HOME": str(REPO / ".local" / "bench" / "airflow-parse"),
        # The masked models' key: the caller's (make exports the laptop's), else a throwaway one.
        "LAKEHOUSE_PSEUDONYM_KEY": os.environ.get("LAKEHOUSE_PSEUDONYM_KEY") or secrets.token_hex(32),
    }
    subprocess.run([str(BIN / "dbt"), "parse", "--quiet"], cwd=REPO, check=True)

    parse = Table(title="DAG parse time (best of 3 fresh processes, dbt graph from the manifest)")
    for header in ("DAG file (dbt execution)", "import Airflow (s)", "parse the DAG file (s)"):
        parse.add_column(header, justify="left" if header.startswith("DAG") else "right")
    parse_rows = bench_parse(env)
    for label, imported, parsed in parse_rows:
        parse.add_row(label, f"{imported:.2f}", f"{parsed:.2f}")
    console.print(parse)
    results: dict[str, object] = {"parse": parse_rows}

    if not args.skip_pipeline:
        labels = {"watcher": "Airflow, one dbt build", "per_model": "Airflow, dbt per model (before)"}
        table = Table(title="The whole pipeline: plain commands vs through Airflow (dags test, a running scheduler)")
        table.add_column("scale", justify="right")
        table.add_column("plain commands (s)", justify="right")
        for execution in args.executions:
            table.add_column(f"{labels[execution]} (s)", justify="right")
            table.add_column("vs plain", justify="right")
        schedulers = ["local", "celery"] if args.scheduler else []
        scheduler_labels = {"local": "scheduler, LocalExecutor", "celery": "scheduler, Celery x2"}
        for executor in schedulers:
            table.add_column(f"{scheduler_labels[executor]} (s)", justify="right")
            table.add_column("vs plain", justify="right")
            table.add_column("Airflow's own (s)", justify="right")
            table.add_column("task instances", justify="right")
        for scale in args.scale:
            times = bench_pipeline(scale, env, args.executions, schedulers)
            results[f"sf{scale:g}"] = times
            row = [f"{scale:g}", f"{times['plain']:.0f}"]
            for execution in args.executions:
                row += [f"{times[execution]:.0f}", f"{times[execution] / times['plain']:.2f}x"]
            for executor in schedulers:
                mode = f"scheduler_{executor}"
                row += [f"{times[mode]:.0f}", f"{times[mode] / times['plain']:.2f}x"]
                row += [f"{times[f'{mode}: airflow seconds']:.0f}", f"{times[f'{mode}: task instances']:.0f}"]
            table.add_row(*row)
            console.print(table)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
