"""A DataJob per dbt model task of the pipeline DAGs, with the model's input and output datasets.

Under Cosmos's watcher the producer's one `dbt build` does the work and the model tasks only follow
its results; they start and end in the triggerer, so nothing reports their lineage (Cosmos #3015:
the consumers emit no OpenLineage events). The manifest says what each model reads and writes, so
each model task gets its DataJob here, named as DataHub's Airflow plugin names the task
(`urn:li:dataJob:(urn:li:dataFlow:(airflow,<dag>,prod),<task id>)`), with the Spark
datasets the dbt source emits: a dashboard's lineage walks through the tasks that built it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from datahub.emitter import mce_builder
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.metadata.schema_classes import DataJobInfoClass, DataJobInputOutputClass

from governance.datasets import dataset_urn, ownership_mcp

AIRFLOW_PLATFORM = "airflow"
AIRFLOW_CLUSTER = "prod"  # DataHub's Airflow plugin's default cluster ([datahub] cluster)
TRANSFORM_GROUPS = ("transform_local", "transform_thrift")


def models_of(manifest: dict[str, Any], dataset: str) -> dict[str, dict[str, Any]]:
    """The manifest's model nodes that the dataset's transform builds (dbt's `tag:<dataset>+`): the
    models tagged with its name and every model that reads one of them, by unique id."""
    models = {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    selected = {uid for uid, n in models.items() if dataset in n["tags"]}
    while True:
        found = {uid for uid, n in models.items() if selected & set(n["depends_on"]["nodes"])} - selected
        if not found:
            return {uid: models[uid] for uid in selected}
        selected |= found


def spark_name(node: dict[str, Any]) -> str:
    """The Spark table of a model or source, as DataHub's dbt source names it (lowercase)."""
    table = node.get("identifier") if node["resource_type"] == "source" else node.get("alias")
    return f"{node['schema']}.{table or node['name']}".lower()


def flow_urn(dag_id: str) -> str:
    return mce_builder.make_data_flow_urn(AIRFLOW_PLATFORM, dag_id, AIRFLOW_CLUSTER)


def model_task_urn(dag_id: str, task_id: str) -> str:
    return mce_builder.make_data_job_urn_with_flow(flow_urn(dag_id), task_id)


def tested_nodes(manifest: dict[str, Any]) -> set[str]:
    """The nodes a dbt test depends on."""
    tests = (n for n in manifest["nodes"].values() if n["resource_type"] == "test")
    return {uid for test in tests for uid in test["depends_on"]["nodes"]}


def model_task_id(group: str, model: dict[str, Any], tested: set[str]) -> str:
    """Cosmos's task id of a model (tests after each model): a task group `<model>` with `run` and
    `test` tasks when a test reads the model, else one task `<model>_run`."""
    return f"{group}.{model['name']}.run" if model["unique_id"] in tested else f"{group}.{model['name']}_run"


def model_job_mcps(manifest: dict[str, Any], dags: dict[str, str]) -> Iterator[MetadataChangeProposalWrapper]:
    """DataJobs of the model tasks of each dataset's DAG (`dags`: dataset -> DAG id), in both
    transform groups (the local session and the Thrift server build the same tables)."""
    nodes = {**manifest["nodes"], **manifest.get("sources", {})}
    tested = tested_nodes(manifest)
    for dataset, dag_id in sorted(dags.items()):
        models = models_of(manifest, dataset)
        for group in TRANSFORM_GROUPS:
            for uid, model in sorted(models.items()):
                task_id = model_task_id(group, model, tested)
                urn = model_task_urn(dag_id, task_id)
                parents = [nodes[p] for p in model["depends_on"]["nodes"] if p in nodes]
                yield MetadataChangeProposalWrapper(
                    entityUrn=urn,
                    aspect=DataJobInfoClass(
                        name=task_id,
                        type="COMMAND",
                        flowUrn=flow_urn(dag_id),
                        description=(
                            f"dbt model `{model['name']}` ({uid}), built by the run's one `dbt build` "
                            f"(`{group}.dbt_producer_watcher`); this task follows its result and retries it alone."
                        ),
                        customProperties={
                            "dbt_unique_id": uid,
                            "materialized": str(model["config"].get("materialized")),
                        },
                    ),
                )
                yield MetadataChangeProposalWrapper(
                    entityUrn=urn,
                    aspect=DataJobInputOutputClass(
                        inputDatasets=sorted({dataset_urn("spark", spark_name(p)) for p in parents}),
                        outputDatasets=[dataset_urn("spark", spark_name(model))],
                        inputDatajobs=sorted(
                            model_task_urn(dag_id, model_task_id(group, p, tested))
                            for p in parents
                            if p["unique_id"] in models
                        ),
                    ),
                )
                yield ownership_mcp(urn)
