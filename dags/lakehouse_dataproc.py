"""Production transform on Google Cloud: an ephemeral Dataproc cluster runs the dbt models.

When the extract has refreshed the lake's raw tables in GCS (the `lakehouse_pipeline` DAG's raw
assets), this DAG creates a Dataproc cluster whose master runs the Spark Thrift server (an
initialization action), builds the dbt project against it over Thrift (Cosmos, target
`dataproc`), runs the PySpark business report as a Dataproc job, and always deletes the cluster
(trigger rule all_done), whatever happened before.

Settings come from the environment of the Airflow deployment (see the README's Google Cloud
set-up): GCP_PROJECT, GCP_REGION, LAKEHOUSE_BUCKET, LAKEHOUSE_LAKE_URI (gs://BUCKET/PREFIX),
DATAPROC_SERVICE_ACCOUNT, DATAPROC_SUBNETWORK; the Google connection is `google_cloud_default`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.google.cloud.operators.dataproc import (
    DataprocCreateClusterOperator,
    DataprocDeleteClusterOperator,
    DataprocSubmitJobOperator,
)
from airflow.sdk import dag

from ingest.core.settings import settings
from orchestration import config, tasks
from orchestration.transform import task_group as transform_group

PROJECT_ID = settings().gcp_project
REGION = settings().gcp_region
BUCKET = settings().bucket
LAKE = config.lake_uri(default=f"gs://{BUCKET}/lake")
DATASET = "tpch"
THRIFT_PORT = 10001  # HiveServer2 holds 10000 on a Dataproc master
# One cluster per run, named from the run id: asset-triggered runs have no logical date.
CLUSTER_NAME = "{{ run_id | dataproc_cluster_name }}"
RAW_ASSETS = [config.raw_asset(DATASET, t, LAKE) for t in tasks.table_names(DATASET)]

SUBNETWORK = settings().dataproc_subnetwork or f"projects/{PROJECT_ID}/regions/{REGION}/subnetworks/default"
# A Dataproc ClusterConfig (google.cloud.dataproc_v1): Spark 3.5 image, private IPs in the VPC
# that Airflow runs in (dbt reaches the master's Thrift port), the Thrift server started by an
# initialization action, and a safety-net idle TTL in case even the delete task cannot run.
CLUSTER_CONFIG: dict[str, Any] = {
    "config_bucket": BUCKET,
    "gce_cluster_config": {
        "subnetwork_uri": SUBNETWORK,
        "internal_ip_only": True,
        "service_account": settings().dataproc_service_account
        or f"lakehouse-dataproc@{PROJECT_ID}.iam.gserviceaccount.com",
        "service_account_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        "metadata": {"spark-thrift-port": str(THRIFT_PORT)},
    },
    "master_config": {
        "num_instances": 1,
        "machine_type_uri": "n2-standard-4",
        "disk_config": {"boot_disk_size_gb": 100},
    },
    "worker_config": {
        "num_instances": 2,
        "machine_type_uri": "n2-standard-4",
        "disk_config": {"boot_disk_size_gb": 100},
    },
    "software_config": {
        "image_version": "2.2-debian12",  # Spark 3.5, as the project pins
        "properties": {"spark:spark.sql.shuffle.partitions": "32", "spark:spark.sql.adaptive.enabled": "true"},
    },
    "initialization_actions": [
        {"executable_file": f"gs://{BUCKET}/dataproc/start-spark-thrift.sh", "execution_timeout": {"seconds": 600}}
    ],
    "endpoint_config": {"enable_http_port_access": True},  # Component Gateway: Spark UI from the console
    "lifecycle_config": {"idle_delete_ttl": {"seconds": 3 * 3600}},
}

DBT_ENV = {
    "LAKEHOUSE_LAKE_URI": LAKE,
    "DATAPROC_THRIFT_HOST": f"{CLUSTER_NAME}-m",  # the master's internal DNS name in the VPC
    "DATAPROC_THRIFT_PORT": str(THRIFT_PORT),
    "DO_NOT_TRACK": "1",
    "LAKEHOUSE_PSEUDONYM_KEY": "{{ pseudonym_key() }}",  # read when the task runs, masked in its logs
}
REPORT_JOB = {
    "reference": {"project_id": PROJECT_ID},
    "placement": {"cluster_name": CLUSTER_NAME},
    "pyspark_job": {
        # The entry point and the project's packages as one archive (python -m reports.business.archive).
        "main_python_file_uri": f"gs://{BUCKET}/jobs/dataproc_job.py",
        "python_file_uris": [f"gs://{BUCKET}/jobs/lakehouse.zip"],
        "args": ["--lake", LAKE],
    },
}


@dag(
    dag_id="lakehouse_dataproc",
    description="dbt on an ephemeral Dataproc cluster's Spark Thrift server, then the business report",
    schedule=RAW_ASSETS,  # data-aware: runs when the extract has refreshed the raw tables
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "on_failure_callback": tasks.log_failure,
    },
    tags=["lakehouse", "dbt", "dataproc", "production"],
    doc_md=__doc__,
    user_defined_filters={"dataproc_cluster_name": config.dataproc_cluster_name},
    user_defined_macros={"pseudonym_key": config.pseudonym_key},
)
def lakehouse_dataproc() -> None:
    create_cluster = DataprocCreateClusterOperator(
        task_id="create_cluster",
        project_id=PROJECT_ID,
        region=REGION,
        cluster_name=CLUSTER_NAME,
        cluster_config=CLUSTER_CONFIG,
        labels={"app": "lakehouse", "managed-by": "airflow"},
        use_if_exists=True,  # a retried run reuses its own cluster
    )
    # The pipeline DAGs' pool: one dbt build at a time over the lakehouse's models, whichever DAG runs it.
    transform = transform_group("transform", DATASET, "dataproc", DBT_ENV, dbt_pool="spark_session")
    report = DataprocSubmitJobOperator(task_id="business_report", project_id=PROJECT_ID, region=REGION, job=REPORT_JOB)
    delete_cluster = DataprocDeleteClusterOperator(
        task_id="delete_cluster",
        project_id=PROJECT_ID,
        region=REGION,
        cluster_name=CLUSTER_NAME,
        trigger_rule="all_done",  # always, even when the transform failed
    )
    create_cluster >> transform >> report >> delete_cluster


lakehouse_dataproc()
