"""`python -m orchestration.demo`: the pipeline DAG run through Airflow (`airflow dags test`), with
its progress per stage printed while it runs and, at the end, where the results are.

Airflow's own log goes to a file (`--log`); this process reads the run's task states from
Airflow's metadata database every second or so and prints a line whenever a stage moves on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from governance.collector import collecting, plugin_environment
from ingest.core.settings import local_dir
from orchestration import config, summary

DONE = {"success", "skipped"}
FAILED = {"failed", "upstream_failed"}
PENDING = {"none", "scheduled", "queued"}
console = Console(highlight=False, soft_wrap=True)


def stage_of(task_id: str) -> str:
    return task_id.split(".", 1)[0]


def task_states(dag_id: str, started_after: float) -> dict[str, Counter[str]] | None:
    """{stage: Counter(state)} of the newest run of `dag_id` that began after `started_after`."""
    from datetime import datetime

    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    since = datetime.fromtimestamp(started_after, tz=UTC)
    try:
        with create_session() as session:
            run_id = session.scalar(
                select(DagRun.run_id)
                .where(DagRun.dag_id == dag_id, DagRun.run_after >= since)
                .order_by(DagRun.run_after.desc())
                .limit(1)
            )
            if run_id is None:
                return None
            rows = session.execute(
                select(TaskInstance.task_id, TaskInstance.state).where(
                    TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
                )
            ).all()
    except OperationalError:  # SQLite is busy with the run's own writes: look again next time
        return None
    stages: dict[str, Counter[str]] = {}
    for task_id, state in rows:
        stages.setdefault(stage_of(task_id), Counter())[str(state or "none").split(".")[-1].lower()] += 1
    return stages


def describe(states: Counter[str]) -> str | None:
    """One line for a stage, or None while it has not started (or only lost its branch so far)."""
    total = sum(states.values())
    done = sum(n for s, n in states.items() if s in DONE)
    failed = sum(n for s, n in states.items() if s in FAILED)
    waiting = states.get("up_for_reschedule", 0) + states.get("up_for_retry", 0)
    active = total - done - failed - waiting - sum(states.get(s, 0) for s in PENDING)
    if failed:
        return f"[red]{failed} failed[/red], {done}/{total} done"
    if done == total:
        return "[dim]skipped (the other branch)[/dim]" if states.get("skipped", 0) == total else "[green]done[/green]"
    if not active and not waiting:  # between two of its tasks, or skipped so far by a branch
        return None
    parts = [f"{done}/{total} done"]
    if active:
        parts.append(f"{active} running")
    if waiting:
        parts.append(f"{waiting} waiting for the build or a retry")
    return ", ".join(parts)


def main(
    dataset: Annotated[str, typer.Option(help="The dataset whose pipeline DAG runs (a contract's name)")] = (
        config.DEFAULT_DATASET
    ),
    conf: Annotated[str, typer.Option(help="The run's params as JSON, e.g. '{\"tpch_scale\": 0.01}'")] = "{}",
    log: Annotated[Path, typer.Option(help="Where Airflow's own log goes")] = Path(".local/demo.log"),
    source: Annotated[Path | None, typer.Option(help="The dataset's CSV folder (default .local/<dataset>)")] = None,
) -> None:
    """Run a dataset's pipeline DAG once and show its progress per stage."""
    if dataset not in config.datasets():
        console.print(f"[red]no dataset {dataset!r}[/red]: choose one of {', '.join(config.datasets())}")
        raise typer.Exit(2)
    params = json.loads(conf)  # a clear error now rather than Airflow's later
    if source is not None:
        params["source"] = str(source.resolve())
    conf = json.dumps(params)
    dag_id = config.pipeline_dag_id(dataset)
    log.parent.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).parent / "airflow")
    started = time.time()
    console.print(f"[bold]{dag_id}[/bold]: running through Airflow; its log: {log}")
    collected = local_dir() / "governance" / "airflow.jsonl"  # what DataHub's Airflow plugin sends
    with log.open("w", encoding="utf-8") as out, collecting(collected) as datahub:
        env = {**os.environ, **plugin_environment(datahub, collected)}
        command = [airflow, "dags", "test", dag_id, "-c", conf]
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        shown: dict[str, str] = {}
        while True:
            finished = process.poll() is not None
            stages = task_states(dag_id, started - 1) or {}
            for stage, states in stages.items():
                line = describe(states)
                if line is not None and shown.get(stage) != line:
                    shown[stage] = line
                    console.print(f"  {time.time() - started:6.0f} s  {stage:<20} {line}")
                    console.file.flush()  # also when the output is a file or a pipe
            if finished:
                break
            time.sleep(1)
    elapsed = time.time() - started
    if process.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        console.print("\n".join(tail), markup=False)
        console.print(f"[red]{dag_id} failed after {elapsed:.0f} s[/red]; the full log: {log}")
        raise typer.Exit(1)
    console.print(f"[green]{dag_id} succeeded in {elapsed:.0f} s[/green]")
    summary.main(dataset)


def cli() -> None:
    typer.run(main)


if __name__ == "__main__":
    cli()
