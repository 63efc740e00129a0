"""The lakehouse pipeline, one DAG per dataset: CSV -> MySQL -> the lake -> dbt on Spark -> governance,
docs and reports, as task groups.

Every contract in `ingest/contracts/` gets its own DAG with the same stages: `lakehouse_pipeline` for
TPC-H (the default dataset) and `lakehouse_pipeline__<dataset>` for the others (nycflights13 ships
with the project). Adding a dataset is adding its contract and running `lakehouse-ingest scaffold`:
its transform builds the dataset's dbt models (`tag:<dataset>`), its report is the dataset's
data-profile page (TPC-H also gets the business report).

Configuration lives at module level; the DAG body only wires. The dbt project is rendered by
astronomer-cosmos from the manifest that `dbt parse` writes during set-up (`make venv`), so parsing
this file does not run dbt. Task bodies are plain functions in `orchestration.tasks`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, AssetAlias, Param, dag, task, task_group

from ingest.core.settings import settings
from orchestration import config, tasks, transform

LAKE = config.lake_uri()
# Session-mode Spark keeps its metastore in one Derby database that only one process may open.
SPARK_SESSION_POOL = "spark_session"
# Every task that keeps dbt artifacts works in its run's own folder (orchestration.transform.artifacts_dir).
THIS_DAG, THIS_RUN = "{{ dag.dag_id }}", "{{ run_id }}"

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": settings().task_retries,
    "retry_delay": timedelta(seconds=settings().retry_delay_seconds),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "on_failure_callback": tasks.log_failure,
}


# The pseudonymisation key is read when a task runs (and masked), never when the file is parsed.
DBT_ENV = {**config.dbt_env(), "LAKEHOUSE_PSEUDONYM_KEY": "{{ pseudonym_key() }}"}
# Connections are read when a task runs (user_defined_macros below), not when the file is parsed.
THRIFT_ENV = {
    **DBT_ENV,
    "SPARK_THRIFT_HOST": "{{ thrift_setting('host') }}",
    "SPARK_THRIFT_PORT": "{{ thrift_setting('port') }}",
    "SPARK_THRIFT_USER": "{{ thrift_setting('login') }}",
}


def build_pipeline(dataset: str) -> DAG:
    """The pipeline DAG of one dataset."""
    tpch = dataset == config.DEFAULT_DATASET
    marts = transform.marts(dataset)  # from the dbt manifest, like the task groups
    # Each mapped extract emits an event for its own table's asset only, through this alias: the
    # tables are known when the task runs, and a data-aware DAG must not start on a table still running.
    raw_tables = AssetAlias(f"lakehouse.{dataset}.raw_tables")
    mart_assets = [Asset(name=f"lakehouse.{m}", uri=f"{LAKE}/lakehouse/{m}") for m in marts]
    params: dict[str, Any] = {
        "source": Param("", type="string", description=f"Folder of CSV files (default .local/{dataset})"),
        "database": Param("", type="string", description=f"MySQL database (default: {dataset})"),
        "extract_mode": Param(
            "incremental",
            enum=["incremental", "full", "cdc"],
            description="incremental: changes since the last batch (the first is a snapshot); full; cdc: the binlog",
        ),
        "dbt_target": Param("local", enum=["local", "thrift"], description="dbt target: Spark session or Thrift"),
        "allow_lossy": Param(
            [],
            type="array",
            description="Contract changes to apply although they alter stored values: TABLE.COLUMN or TABLE",
        ),
    }
    if tpch:
        params["tpch_scale"] = Param(0.01, type="number", description="Scale factor when the CSV files are generated")

    @dag(
        dag_id=config.pipeline_dag_id(dataset),
        description=f"{dataset}: CSV -> MySQL -> Parquet lake -> dbt on Spark -> governance, docs, reports",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["lakehouse", "dbt", dataset],
        user_defined_macros={"thrift_setting": config.thrift_setting, "pseudonym_key": config.pseudonym_key},
        params=params,
        doc_md=__doc__,
        render_template_as_native_obj=True,
    )
    def pipeline() -> None:
        @task
        def plan_tables() -> list[str]:
            return tasks.table_names(dataset)

        @task_group(group_id="ingest")
        def ingest(names: Any) -> None:
            @task
            def prepare_source(source: str, scale: Any) -> str:
                return tasks.prepare_source(dataset, source, float(scale))

            @task(max_active_tis_per_dagrun=1)  # one load per database at a time (the loader's lock agrees)
            def load_table(
                table: str, source: str, database: str, load_run: str, allow_lossy: Any = None
            ) -> dict[str, object]:
                """Stage one table (retryable on its own); nothing is visible until `publish_load`."""
                return tasks.stage_table(dataset, source, table, database, load_run, allow_lossy)

            @task
            def publish_load(database: str, load_run: str) -> list[str]:
                """Every staged table of this run into place in one atomic RENAME: all or nothing."""
                return tasks.publish_load(dataset, database, load_run)

            scale = "{{ params.tpch_scale }}" if tpch else "0.01"
            source = prepare_source("{{ params.source }}", scale)
            staged = load_table.partial(
                source=source,
                database="{{ params.database }}",
                load_run="{{ run_id }}",
                allow_lossy="{{ params.allow_lossy }}",
            ).expand(table=names)
            staged >> publish_load("{{ params.database }}", "{{ run_id }}")

        @task_group(group_id="extract")
        def extract(names: Any) -> None:
            @task(outlets=[raw_tables])
            def extract_table(table: str, database: str, mode: str, *, outlet_events: Any = None) -> dict[str, object]:
                summary = tasks.extract_table(dataset, table, database, mode)
                outlet_events[raw_tables].add(config.raw_asset(dataset, table), extra=summary)
                return summary

            extract_table.partial(database="{{ params.database }}", mode="{{ params.extract_mode }}").expand(
                table=names
            )

        @task.branch
        def choose_dbt_target(dbt_target: str) -> str:
            return f"transform_{dbt_target}"

        transform_local = transform.task_group(
            "transform_local", dataset, "local", DBT_ENV, dbt_pool=SPARK_SESSION_POOL
        )
        transform_thrift = transform.task_group(
            "transform_thrift", dataset, "thrift", THRIFT_ENV, dbt_pool=SPARK_SESSION_POOL
        )

        @task(outlets=mart_assets, trigger_rule="none_failed_min_one_success")
        def publish_marts() -> list[str]:
            """Marks the dataset's marts as updated, so data-aware DAGs downstream can start."""
            return [asset.uri for asset in mart_assets]

        @task_group(group_id="governance")
        def governance() -> None:
            @task(pool=SPARK_SESSION_POOL)
            def test_results(dbt_target: str, pipeline_dag: str, pipeline_run: str) -> str:
                """The tests' results of this run's dbt build (DataHub shows them as assertions)."""
                return tasks.test_results(dbt_target, pipeline_dag, pipeline_run, dataset)

            @task(pool=SPARK_SESSION_POOL)
            def catalog(dbt_target: str, pipeline_dag: str, pipeline_run: str) -> str:
                """dbt docs generate --static: the catalog (column types) and the docs site."""
                return tasks.catalog(dbt_target, pipeline_dag, pipeline_run)

            @task
            def check_policies(pipeline_dag: str, pipeline_run: str) -> None:
                """Fails, naming the model, when one lacks an owner, description or domain, or a PII tag."""
                tasks.check_policies(pipeline_dag, pipeline_run)

            @task
            def emit_metadata(pipeline_dag: str, pipeline_run: str) -> str:
                """dbt metadata, test results and ingest lineage to DataHub (file sink: <lake>/governance/)."""
                return tasks.emit_metadata(pipeline_dag, pipeline_run, settings().datahub_sink)

            target = "{{ params.dbt_target }}"
            results = test_results(target, THIS_DAG, THIS_RUN)
            checked = catalog(target, THIS_DAG, THIS_RUN)
            results >> checked >> check_policies(THIS_DAG, THIS_RUN) >> emit_metadata(THIS_DAG, THIS_RUN)

        @task_group(group_id="docs")
        def docs() -> None:
            @task
            def publish_docs(pipeline_dag: str, pipeline_run: str) -> str:
                """dbt's docs site, published beside the lake (<lake>/docs/)."""
                return tasks.publish_docs(pipeline_dag, pipeline_run)

            publish_docs(THIS_DAG, THIS_RUN)

        @task_group(group_id="report")
        def report() -> None:
            @task
            def profile_report(pipeline_dag: str, pipeline_run: str) -> str:
                """The dataset's data-profile page (<lake>/reports/profile-<dataset>.html)."""
                return tasks.profile_report(dataset, pipeline_dag, pipeline_run)

            profiled = profile_report(THIS_DAG, THIS_RUN)
            if tpch:

                @task
                def business_report(pipeline_dag: str, pipeline_run: str) -> str:
                    """The PySpark business report (<lake>/reports/latest.html)."""
                    return tasks.business_report(pipeline_dag, pipeline_run)

                profiled >> business_report(THIS_DAG, THIS_RUN)

        names = plan_tables()
        branch = choose_dbt_target("{{ params.dbt_target }}")
        published = publish_marts()
        ingest(names) >> extract(names) >> branch >> [transform_local, transform_thrift] >> published
        published >> governance() >> docs()
        published >> report()

    return pipeline()


for _dataset in config.datasets():
    build_pipeline(_dataset)
