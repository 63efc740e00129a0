"""Every templated field of every task renders for every kind of run the scheduler makes.

`airflow dags test` always supplies a logical date, so it cannot show that an asset-triggered
run has none (and no `ts`, `ds` or `data_interval_*`). Here each run is described as the
scheduler creates it (its own run id generator, the run type, no logical date for asset-triggered
and manual runs) and handed to the Task SDK's own context builder, as the API server hands it to
a worker; then every task's templates are rendered with Airflow's strict Jinja environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.core.settings import REPO_ROOT

RUN_TYPES = ["asset_triggered", "manual", "scheduled"]


@pytest.fixture(scope="module")
def dags(isolated_state: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True, capture_output=True)
    dbt = str(Path(sys.executable).parent / "dbt")
    subprocess.run([dbt, "parse", "--quiet"], check=True, cwd=REPO_ROOT, capture_output=True, timeout=300)
    bag = DagBag(str(REPO_ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


def run_context(dag: Any, run_type: str) -> Any:
    """The run as the scheduler would create it, in the form the Task SDK receives it."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk.api.datamodels._generated import DagRun as RunForWorker
    from airflow.sdk.api.datamodels._generated import DagRunState, TIRunContext
    from airflow.sdk.api.datamodels._generated import DagRunType as WorkerRunType
    from airflow.utils.types import DagRunType

    now = datetime.now(UTC)
    kind = DagRunType(run_type)
    logical = now - timedelta(days=1) if kind is DagRunType.SCHEDULED else None  # Airflow 3: only timetables
    run = RunForWorker(
        dag_id=dag.dag_id,
        run_id=DagRun.generate_run_id(run_type=kind, logical_date=logical, run_after=now),
        logical_date=logical,
        data_interval_start=logical,
        data_interval_end=now if logical else None,
        run_after=now,
        start_date=now,
        end_date=None,
        run_type=WorkerRunType(run_type),
        state=DagRunState.RUNNING,
        conf={},
        consumed_asset_events=[],
        partition_key=None,
    )
    return TIRunContext(dag_run=run, max_tries=1)


def without_xcom(value: Any) -> Any:
    """Upstream results (XComArgs) come from XCom at run time, not from templates: left out."""
    from airflow.sdk.definitions.xcom_arg import XComArg

    if isinstance(value, XComArg):
        return "<from XCom>"
    if isinstance(value, dict):
        return {k: without_xcom(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_xcom(v) for v in value)
    return value


def render_all(dag: Any, run_type: str) -> dict[str, dict[str, Any]]:
    from airflow.sdk.bases.operator import BaseOperator
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    context_from_server = run_context(dag, run_type)
    rendered: dict[str, dict[str, Any]] = {}
    for task in dag.tasks:
        ti = RuntimeTaskInstance.model_construct(
            id=os.urandom(16).hex(),
            task=task,
            task_id=task.task_id,
            dag_id=dag.dag_id,
            run_id=context_from_server.dag_run.run_id,
            try_number=1,
            map_index=-1,
            start_date=datetime.now(UTC),
            max_tries=1,
        )
        ti._ti_context_from_server = context_from_server
        context = ti.get_template_context()
        fields: dict[str, Any] = {}
        if isinstance(task, BaseOperator):
            for name in task.template_fields:
                value = without_xcom(getattr(task, name))
                fields[name] = task.render_template(value, context, jinja_env=dag.get_template_env())
        else:  # a mapped task: its partial arguments (the mapped ones come from XCom at run time)
            for name, value in task.partial_kwargs.get("op_kwargs", {}).items():
                fields[name] = task.render_template(without_xcom(value), context, jinja_env=dag.get_template_env())
        rendered[task.task_id] = fields
    return rendered


@pytest.mark.parametrize("run_type", RUN_TYPES)
@pytest.mark.parametrize("dag_id", ["lakehouse_pipeline", "lakehouse_dataproc"])
def test_every_templated_field_renders_for_every_run_type(dags: Any, dag_id: str, run_type: str) -> None:
    rendered = render_all(dags.get_dag(dag_id), run_type)
    assert len(rendered) == len(dags.get_dag(dag_id).tasks)
    assert "{{" not in repr(rendered)  # everything rendered (an undefined variable raises instead)


@pytest.mark.parametrize("run_type", RUN_TYPES)
def test_the_production_cluster_is_named_for_its_run(dags: Any, run_type: str) -> None:
    import re

    rendered = render_all(dags.get_dag("lakehouse_dataproc"), run_type)
    name = rendered["create_cluster"]["cluster_name"]
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,49}[a-z0-9]", name), name
    assert rendered["delete_cluster"]["cluster_name"] == name
    assert rendered["business_report"]["job"]["placement"]["cluster_name"] == name
    thrift_hosts = {f["env"]["DATAPROC_THRIFT_HOST"] for t, f in rendered.items() if f.get("env")}
    assert thrift_hosts == {f"{name}-m"}
    # Two runs of the same kind get two clusters.
    assert render_all(dags.get_dag("lakehouse_dataproc"), run_type)["create_cluster"]["cluster_name"] != name
