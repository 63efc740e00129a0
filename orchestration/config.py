"""Settings for the pipeline's tasks: Airflow connections first, the CLI's defaults otherwise.

Connections (any of them may come from `AIRFLOW_CONN_<ID>` environment variables):
- `lakehouse_mysql`: the MySQL server (a `mysql` connection: host, port, login, password);
- `google_cloud_default`: a service-account key (`extra.key_path` or `extra.keyfile_dict`) for `gs://` lakes;
- `spark_thrift`: the Spark Thrift server (host, port, login) used by the `thrift` dbt target;
- `lakehouse_pseudonym`: the key of the masked models (its password: 64 hex characters);
- `lakehouse_gcs_hmac`: the HMAC key with which DataHub's gcs source reads a `gs://` lake (login:
  the access id, password: the secret).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.core import lake as lakes
from ingest.core.contract import shipped_datasets
from ingest.core.settings import MySQLSettings, local_dir, reveal, settings, spark_events_dir

if TYPE_CHECKING:
    from airflow.sdk import Asset

log = logging.getLogger(__name__)

MYSQL_CONN_ID = "lakehouse_mysql"
PSEUDONYM_CONN_ID = "lakehouse_pseudonym"
GCP_CONN_ID = "google_cloud_default"
GCS_HMAC_CONN_ID = "lakehouse_gcs_hmac"
THRIFT_CONN_ID = "spark_thrift"


def _connection(conn_id: str) -> Any | None:
    """The Airflow connection, or None when it is not defined (or Airflow is not running the code)."""
    try:
        from airflow.sdk import Connection

        return Connection.get(conn_id)
    except Exception:  # noqa: BLE001 - not defined, or no Airflow context: fall back to the defaults
        return None


def mysql_settings() -> MySQLSettings:
    conn = _connection(MYSQL_CONN_ID)
    if conn is None or not conn.host:
        return MySQLSettings.from_env()
    tls = (conn.extra_dejson or {}).get("ssl") or {}  # the MySQL provider's form: {"ca", "cert", "key"}
    if isinstance(tls, str):
        tls = json.loads(tls)
    return MySQLSettings(
        host=conn.host,
        port=int(conn.port or 3306),
        user=conn.login or "root",
        password=conn.password or "",
        ssl=bool(tls),
        ssl_ca=tls.get("ca"),
        ssl_cert=tls.get("cert"),
        ssl_key=tls.get("key"),
        ssl_verify=str(tls.get("verify", True)).lower() not in ("false", "0"),
    )


def _masked(secret: str) -> str:
    """`secret`, registered with Airflow's secrets masker: a rendered field or a log line shows ***."""
    if secret:
        try:
            from airflow.sdk.log import mask_secret

            mask_secret(secret)
        except ImportError:  # not under Airflow
            pass
    return secret


def pseudonym_key() -> str:
    """The masked models' key (64 hex characters), read when a dbt task runs: the password of the
    `lakehouse_pseudonym` connection, else LAKEHOUSE_PSEUDONYM_KEY."""
    conn = _connection(PSEUDONYM_CONN_ID)
    return _masked((conn.password if conn is not None else None) or reveal(settings().pseudonym_key))


def gcs_hmac_key() -> tuple[str, str] | None:
    """(access id, secret) of the `lakehouse_gcs_hmac` connection, or None (then governance reads
    LAKEHOUSE_GCS_HMAC_ID and LAKEHOUSE_GCS_HMAC_SECRET)."""
    conn = _connection(GCS_HMAC_CONN_ID)
    if conn is None or not conn.login or not conn.password:
        return None
    return conn.login, _masked(conn.password)


def lake_uri(default: str | None = None) -> str:
    """The lake, by the one rule every module and dbt apply (`ingest.core.lake.resolve_lake_uri`)."""
    return lakes.resolve_lake_uri(settings().lake_uri or default)


def raw_asset(dataset: str, table: str, lake: str | None = None) -> Asset:
    """The Airflow asset of one raw table: its folder in the lake."""
    from airflow.sdk import Asset

    return Asset(name=f"raw.{dataset}.{table}", uri=f"{lake or lake_uri()}/raw/{dataset}/{table}")


@contextmanager
def google_credentials() -> Iterator[dict[str, str]]:
    """GOOGLE_APPLICATION_CREDENTIALS for the google-cloud-storage client, from the GCP connection.

    A key that travels as JSON in the connection becomes a file (the client wants one): written
    once, in a private folder (0700) as a 0600 file, for the lifetime of this block only, and
    removed afterwards, also when the task fails. A `key_path` is used as it is.
    """
    conn = _connection(GCP_CONN_ID)
    extra = (conn.extra_dejson or {}) if conn is not None else {}
    key_path = extra.get("key_path") or extra.get("extra__google_cloud_platform__key_path")
    key_dict = extra.get("keyfile_dict") or extra.get("extra__google_cloud_platform__keyfile_dict")
    if key_path or not key_dict:
        yield {"GOOGLE_APPLICATION_CREDENTIALS": str(key_path)} if key_path else {}
        return
    with tempfile.TemporaryDirectory(prefix="lakehouse-gcp-") as folder:  # created 0700
        path = Path(folder) / "key.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key_file:
            key_file.write(key_dict if isinstance(key_dict, str) else json.dumps(key_dict))
        yield {"GOOGLE_APPLICATION_CREDENTIALS": str(path)}


_THRIFT_SETTINGS = {"host": "spark_thrift_host", "port": "spark_thrift_port", "login": "spark_thrift_user"}


def thrift_setting(field: str) -> str:
    """host, port or login of the Spark Thrift server: the `spark_thrift` connection, else the
    SPARK_THRIFT_* environment, else the local server's defaults (the dbt profile's, too)."""
    conn = _connection(THRIFT_CONN_ID)
    value = getattr(conn, field, None) if conn is not None else None
    return str(value or getattr(settings(), _THRIFT_SETTINGS[field]))


def dbt_env() -> dict[str, str]:
    """Environment for dbt tasks: absolute state paths (Cosmos runs dbt from a temporary copy)."""
    lake = lakes.location_setting(lakes.parse_lake(lake_uri()))  # a plain path for dbt's Jinja
    return {
        "LAKEHOUSE_LOCAL_DIR": str(local_dir()),
        "LAKEHOUSE_LAKE_URI": lake,
        "LAKEHOUSE_SPARK_EVENTS": str(spark_events_dir()),  # every run's Spark jobs, for the history server
        "DO_NOT_TRACK": "1",
    }


DEFAULT_DATASET = "tpch"
PIPELINE_DAG = "lakehouse_pipeline"


def datasets() -> list[str]:
    """Every dataset with a contract in `ingest/contracts/`: each gets its own pipeline DAG."""
    return shipped_datasets()


def pipeline_dag_id(dataset: str) -> str:
    """`lakehouse_pipeline` for TPC-H (the default dataset), `lakehouse_pipeline__<dataset>` otherwise."""
    return PIPELINE_DAG if dataset == DEFAULT_DATASET else f"{PIPELINE_DAG}__{dataset}"


def pipeline_dags() -> dict[str, str]:
    """Every dataset and the id of its pipeline DAG."""
    return {dataset: pipeline_dag_id(dataset) for dataset in datasets()}


def source_dir(param: str | None, dataset: str = DEFAULT_DATASET) -> Path:
    """The folder of the dataset's CSV files: the run's `source` param, else `.local/<dataset>`."""
    return Path(param) if param else local_dir() / dataset


def dataproc_cluster_name(run_id: str, prefix: str = "lakehouse") -> str:
    """The Dataproc cluster of one DAG run, from what every run has: its run id.

    Asset-triggered runs have no logical date (so no `ts_nodash`); every run has a run id. Dataproc
    wants lowercase letters, digits and hyphens, a letter first, no hyphen last, at most 51
    characters: a readable part of the run id plus a short hash of all of it (unique per run, the
    same for every try of the run, so a retry finds its own cluster).
    """
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    readable = re.sub(r"[^a-z0-9]+", "-", run_id.lower()).strip("-")[:30].strip("-")
    return "-".join(part for part in (prefix, readable, digest) if part)
