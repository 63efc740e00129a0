"""The dbt project as an Airflow task group, shared by both DAGs (astronomer-cosmos).

Two ways to run it, chosen by `LAKEHOUSE_DBT_EXECUTION` when the DAG file is parsed:

- `watcher` (the default): one `dbt build` per pipeline run (Cosmos's `ExecutionMode.WATCHER`).
  A producer task runs the build; every model still has its own task, which follows the model's
  result as dbt reports it (status, log, retry). A model that failed is retried on its own, as a
  `dbt run` of that model alone, without rebuilding those that succeeded. Per-run costs (a Spark
  session, the on-run-start hook that registers the lake's sources) are paid once. Under a
  scheduler the model tasks start and end in the triggerer (orchestration/model_trigger.py).
- `per_model`: a dbt command per model and one per model's tests (`ExecutionMode.LOCAL`,
  `TestBehavior.AFTER_EACH`), what the DAGs did before; kept for comparison (bench/bench_airflow.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from airflow.sdk.bases.sensor import BaseSensorOperator
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from governance import model_jobs
from ingest.core.settings import REPO_ROOT, local_dir, settings
from orchestration.model_trigger import start_in_triggerer

log = logging.getLogger(__name__)

EXECUTIONS = ("watcher", "per_model")
PROFILES = REPO_ROOT / "profiles" / "profiles.yml"
MANIFEST = REPO_ROOT / "target" / "manifest.json"
# The producer's `dbt build` results, kept for governance (the tests' outcomes become assertions).
BUILD_RESULTS = "run_results.producer.json"
KEPT_RUNS = 5  # runs whose artifacts a DAG keeps


def execution() -> str:
    """How the dbt task groups run: `watcher` (one dbt build) or `per_model` (a dbt command per node)."""
    return settings().dbt_execution  # validated there: one of EXECUTIONS


def artifacts_dir(dag_id: str, run_id: str) -> Path:
    """Where one pipeline run keeps dbt's artifacts between its tasks (run results, catalog, docs
    site): a folder per DAG run, so runs of two DAGs at once never read each other's files."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:60]
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]  # distinct runs stay distinct
    return local_dir() / "dbt-pipeline-target" / dag_id / f"{readable}-{digest}"


def keep_build_results(project_dir: str, context: Any = None, **_: Any) -> Path | None:
    """After the producer's `dbt build`: its run_results.json, kept in the run's folder for the
    governance tasks, so they do not run every test a second time."""
    source = Path(project_dir) / "target" / "run_results.json"
    if context is None or not source.exists():
        log.warning("the build left no run_results.json in %s", source.parent)
        return None
    target = artifacts_dir(context["dag"].dag_id, context["run_id"])
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / BUILD_RESULTS)
    results = json.loads(source.read_text(encoding="utf-8")).get("results", [])
    log.info("kept the build's results (%d nodes) in %s", len(results), target)
    prune_runs(target.parent)
    return target


def build_failed(folder: Path) -> bool:
    """Whether a node of the kept build in `folder` errored or failed (dbt's run_results statuses)."""
    results = json.loads((folder / BUILD_RESULTS).read_text(encoding="utf-8")).get("results", [])
    return any(r.get("status") in ("error", "fail", "runtime error", "partial success") for r in results)


def build_results_of(dag_id: str, run_id: str) -> Path | None:
    """The kept `dbt build` results of this run, else None."""
    results = artifacts_dir(dag_id, run_id) / BUILD_RESULTS
    return results if results.exists() else None


def prune_runs(dag_folder: Path, keep: int = KEPT_RUNS) -> None:
    """Only the newest `keep` runs' artifacts of a DAG stay."""
    runs = sorted((p for p in dag_folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def selector(dataset: str) -> str:
    """dbt's selection of a dataset's models: its staging models (tagged with its name) and every
    model built on them (marts, reports)."""
    return f"tag:{dataset}+"


def models_of(dataset: str, manifest: Path = MANIFEST) -> dict[str, dict[str, Any]]:
    """The manifest's model nodes that `selector(dataset)` selects: the models tagged with the
    dataset's name and every model that reads one of them, by unique id."""
    return model_jobs.models_of(json.loads(manifest.read_text(encoding="utf-8")), dataset)


def marts(dataset: str = "tpch", manifest: Path = MANIFEST) -> list[str]:
    """A dataset's marts, as the dbt project declares them: its models in models/marts/ (masked
    copies for broad access, in marts/broad/, are not announced as assets)."""
    return sorted(
        n["name"]
        for n in models_of(dataset, manifest).values()
        if n["fqn"][1:2] == ["marts"] and "broad" not in n["fqn"][2:-1]
    )


def task_group(
    group_id: str, dataset: str, target: str, env: dict[str, str], dbt_pool: str | None = None
) -> DbtTaskGroup:
    """The `dataset`'s dbt models (`selector`) as a task group for the dbt `target`, rendered
    from the manifest that `dbt parse` wrote at set-up, so parsing the DAG file runs no dbt. `env` reaches every dbt
    command (templated when the task runs). `dbt_pool` holds the tasks that run dbt: all of them
    per model; in watcher mode the producer, while the model tasks (which only read its results
    unless they retry a model) stay in the default pool, so they turn green as the build goes."""
    watcher = execution() == "watcher"
    operator_args: dict[str, Any] = {"pool": dbt_pool} if dbt_pool else {}
    if watcher:
        # The build's results kept, and the run's other Spark work done in the build's warm session.
        operator_args["callback"] = "orchestration.tasks.after_build"
    project = ProjectConfig(
        dbt_project_path=REPO_ROOT,
        manifest_path=MANIFEST,
        project_name="lakehouse",
        install_dbt_deps=False,
        models_relative_path="dbt_project/models",
        seeds_relative_path="dbt_project/seeds",
        snapshots_relative_path="dbt_project/snapshots",
        env_vars=env,
    )
    # Cosmos opens the manifest through Airflow's ObjectStoragePath, which first imports every
    # provider's file system (the Google provider's alone takes about a second); ours is a local file.
    project.manifest_path = MANIFEST
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=project,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if watcher else ExecutionMode.LOCAL,
            dbt_executable_path=str(REPO_ROOT / ".venv" / "bin" / "dbt"),
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=[selector(dataset)],  # also the producer's one `dbt build`
            test_behavior=TestBehavior.AFTER_EACH,
            # Per model, a test of two models (relationships) runs after both, as its own task.
            # The watcher reports tests per model, so there it belongs to its models' test tasks.
            should_detach_multiple_parents_tests=not watcher,
            emit_datasets=False,  # the DAGs declare their own assets (lake folders)
        ),
        profile_config=ProfileConfig(profile_name="lakehouse", target_name=target, profiles_yml_filepath=PROFILES),
        operator_args=operator_args,
    )
    if watcher:
        in_triggerer = settings().dbt_model_tasks == "triggerer"
        for task in group.iter_tasks():
            if isinstance(task, BaseSensorOperator):
                _follow_by_rescheduling(task)
                if in_triggerer:
                    start_in_triggerer(task)
                if dbt_pool:
                    task.pool = "default_pool"
    return group


def _follow_by_rescheduling(sensor: BaseSensorOperator) -> None:
    """When a model's task runs on a worker (always under `airflow dags test`; under a scheduler
    with LAKEHOUSE_DBT_MODEL_TASKS=reschedule), it checks the build's result for its model and,
    until the producer has it, gives its slot back and looks again (reschedule mode) instead of
    deferring. A deferred trigger would hold `airflow dags test` (which runs one task at a time)
    on a build that cannot start until the trigger ends."""
    sensor.deferrable = False  # type: ignore[attr-defined]
    sensor.mode = "reschedule"
    sensor.poke_interval = 5
