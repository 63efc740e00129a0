"""The orchestration's pure parts: the retry policy, the kept build results, the demo's progress lines."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.core.contract import ContractError
from ingest.core.errors import DataError, LakehouseError, TransientError
from ingest.core.lake import LakeError
from ingest.core.mysql import MySQLUnavailable
from ingest.load import LoadError, LoadLocked, TooManyBadRows
from orchestration import demo, tasks, transform

DATA_ERRORS = [ContractError("bad contract"), LakeError("bad uri"), LoadError("bad file"), TooManyBadRows("bad rows")]
TRANSIENT_ERRORS = [MySQLUnavailable("no server"), LoadLocked("lock held")]


@pytest.mark.parametrize("error", DATA_ERRORS, ids=lambda e: type(e).__name__)
def test_a_data_error_fails_the_task_at_once(error: DataError) -> None:
    with pytest.raises(tasks.PipelineDataError, match=str(error)), tasks.airflow_retry_policy():
        raise error


@pytest.mark.parametrize("error", TRANSIENT_ERRORS, ids=lambda e: type(e).__name__)
def test_a_transient_error_is_left_to_airflow_s_retries(error: TransientError) -> None:
    with pytest.raises(type(error)) as raised, tasks.airflow_retry_policy():
        raise error
    assert not isinstance(raised.value, tasks.PipelineDataError)


def _project_errors() -> set[type[LakehouseError]]:
    """Every error class the project's packages define, found by importing all their modules."""
    for package in ("ingest", "orchestration", "governance", "reports"):
        root = importlib.import_module(package)
        for module in pkgutil.walk_packages(root.__path__, f"{package}."):
            if not module.name.endswith("__main__"):  # running it would start the command line
                importlib.import_module(module.name)
    found: set[type[LakehouseError]] = set()
    todo: list[type[LakehouseError]] = [LakehouseError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.split(".")[0] in ("ingest", "orchestration", "governance", "reports"):
                found.add(sub)
            todo.append(sub)
    return found


def test_every_project_error_sits_in_exactly_one_branch() -> None:
    errors = _project_errors() - {DataError, TransientError}
    assert len(errors) >= 20, sorted(e.__name__ for e in errors)  # the walk found the project's errors
    both_or_neither = [e.__qualname__ for e in errors if issubclass(e, DataError) == issubclass(e, TransientError)]
    assert not both_or_neither, f"in both branches or in neither: {both_or_neither}"


def test_the_build_results_are_used_only_by_their_own_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_LOCAL_DIR", str(tmp_path))
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    (project / "target" / "run_results.json").write_text(json.dumps({"results": [{"unique_id": "model.x"}]}))
    assert transform.build_results_of("dag_a", "run-1") is None
    transform.keep_build_results(str(project), context={"run_id": "run-1", "dag": SimpleNamespace(dag_id="dag_a")})
    kept = transform.build_results_of("dag_a", "run-1")
    assert kept is not None and json.loads(kept.read_text())["results"][0]["unique_id"] == "model.x"
    assert transform.build_results_of("dag_a", "run-2") is None  # another run's results are never reused
    assert transform.build_results_of("dag_b", "run-1") is None  # nor another DAG's run of the same id


DBT_STATUSES = ["success", "pass", "warn", "skipped", "error", "fail", "runtime error", "partial success"]


@given(st.lists(st.sampled_from(DBT_STATUSES), max_size=20))
def test_the_build_s_followups_run_in_its_session_only_when_it_passed(statuses: list[str]) -> None:
    """After a build where a node errored or failed, the producer's callback keeps the results and
    stops: the retries of the failed models come first, then the catalog and reports' own tasks."""
    import tempfile

    done: list[str] = []
    with tempfile.TemporaryDirectory() as local, pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAKEHOUSE_LOCAL_DIR", local)
        patch.setattr(tasks, "_generate_catalog", lambda *_: done.append("catalog"))
        patch.setattr(tasks, "profile_report", lambda *_: done.append("profile_report"))
        patch.setattr(tasks, "business_report", lambda *_: done.append("business_report"))
        project = Path(local) / "project"
        (project / "target").mkdir(parents=True)
        results = [{"unique_id": f"model.m{i}", "status": status} for i, status in enumerate(statuses)]
        (project / "target" / "run_results.json").write_text(json.dumps({"results": results}))
        context = {
            "run_id": "manual__1",
            "dag": SimpleNamespace(dag_id="lakehouse_pipeline"),
            "ti": SimpleNamespace(task_id="transform_local.dbt_producer_watcher"),
        }
        tasks.after_build(str(project), context)
        markers = {p.stem for p in transform.artifacts_dir("lakehouse_pipeline", "manual__1").glob("*.done")}
    failed = {"error", "fail", "runtime error", "partial success"}  # partial success: a microbatch batch failed
    passed = not failed & set(statuses)
    assert done == (["catalog", "profile_report", "business_report"] if passed else [])
    assert markers == set(done)


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_every_run_gets_its_own_artifacts_folder(first: str, second: str) -> None:
    """Run ids are free text (manual, scheduled, asset-triggered, or an operator's): distinct ids
    never share a folder, and the folder is one path component under the DAG's."""
    a, b = transform.artifacts_dir("dag", first), transform.artifacts_dir("dag", second)
    assert (a == b) == (first == second)
    assert a.parent == transform.artifacts_dir("dag", "x").parent and "/" not in a.name and a.name not in (".", "..")


def test_an_unknown_dbt_execution_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_DBT_EXECUTION", "sometimes")
    with pytest.raises(ValueError, match="LAKEHOUSE_DBT_EXECUTION: Input should be 'watcher' or 'per_model'"):
        transform.execution()


STATES = st.sampled_from(
    ["none", "scheduled", "queued", "running", "success", "skipped", "failed", "upstream_failed", "up_for_reschedule"]
)


@given(st.lists(STATES, min_size=1, max_size=90))
def test_a_stage_line_counts_every_task(states: list[str]) -> None:
    counts = Counter(states)
    line = demo.describe(counts)
    done = counts["success"] + counts["skipped"]
    failed = counts["failed"] + counts["upstream_failed"]
    if failed:
        assert line is not None and f"{failed} failed" in line and f"{done}/{len(states)} done" in line
    elif done == len(states):
        assert line is not None and ("done" in line or "skipped" in line)
    elif line is not None:
        assert line.startswith(f"{done}/{len(states)} done")
    else:  # silent only while nothing in the stage runs or waits
        assert counts["running"] == 0 and counts["up_for_reschedule"] == 0


def test_the_celery_worker_of_the_pinned_set_starts() -> None:
    """`airflow celery worker` imports the provider's executor module first: celery 5.7 broke it
    (celery.backends.database.retry was removed), and every Celery worker exited at start."""
    import importlib

    module = importlib.import_module("airflow.providers.celery.executors.celery_executor_utils")
    assert callable(module.retry)
