"""The bodies of the pipeline's Python tasks. Data problems fail at once (no retry can fix a bad
CSV file); connection problems raise normally, so Airflow retries them with backoff."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from ingest.contract import Contract, ContractError, contract_path, load_contract
from ingest.extract import ExtractError, ExtractOptions, extract_dataset
from ingest.lake import LakeError
from ingest.loader import LoadError, LoadOptions, load_dataset
from ingest.settings import local_dir
from orchestration import config

log = logging.getLogger(__name__)


class PipelineDataError(AirflowFailException):
    """A problem in the data or its contract: the task fails at once, since retrying will not help."""


def contract_for(dataset: str) -> Contract:
    try:
        return load_contract(contract_path(dataset))
    except ContractError as exc:
        raise PipelineDataError(str(exc)) from exc


def prepare_source(dataset: str, source: str | None, scale: float) -> str:
    """The folder of CSV files; for TPC-H, generated at `scale` when the folder has none."""
    folder = config.source_dir(source)
    if dataset == "tpch" and not any(folder.glob("*.csv")):
        log.info("generating TPC-H scale %s into %s", scale, folder)
        subprocess.run(
            [sys.executable, "-m", "ingest", "generate-tpch", "--scale", str(scale), "--out", str(folder)],
            check=True,
        )
    if not folder.is_dir():
        raise PipelineDataError(f"source folder {folder} does not exist")
    return str(folder)


def table_names(dataset: str) -> list[str]:
    return [table.name for table in contract_for(dataset).tables]


def load_table(dataset: str, source: str, table: str, database: str | None = None) -> dict[str, Any]:
    """CSV -> MySQL for one table (the loader's guarantees: quarantine, atomic publish, audit)."""
    options = LoadOptions(database=database or None, tables=[table], lock_timeout=600)
    try:
        [report] = load_dataset(contract_for(dataset), Path(source), config.mysql_settings(), options)
    except LoadError as exc:
        raise PipelineDataError(str(exc)) from exc
    summary = {
        "table": table,
        "rows_read": report.total("rows_read"),
        "rows_loaded": report.total("rows_loaded"),
        "rows_rejected": report.total("rows_rejected"),
        "skipped": report.skipped,
    }
    log.info("loaded %s", summary)
    return summary


def extract_table(dataset: str, table: str, database: str | None = None, mode: str = "full") -> dict[str, Any]:
    """MySQL -> the lake's raw zone for one table (a committed batch, or nothing new)."""
    os.environ.update(config.google_credentials_env())
    options = ExtractOptions(database=database or None, tables=[table], mode=mode, workers=1)  # type: ignore[arg-type]
    try:
        [result] = extract_dataset(contract_for(dataset), config.mysql_settings(), config.lake_uri(), options)
    except (ContractError, LakeError, ExtractError) as exc:
        raise PipelineDataError(str(exc)) from exc
    summary = {"table": table, "status": result.status, "batch": result.batch, "rows": result.rows}
    log.info("extracted %s", summary)
    return summary


def log_failure(context: dict[str, Any]) -> None:
    """on_failure_callback: one line that says which task failed and why, without the traceback noise."""
    task_instance = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    where = f"{task_instance.dag_id}.{task_instance.task_id}" if task_instance is not None else "a task"
    map_index = getattr(task_instance, "map_index", -1)
    if map_index is not None and map_index >= 0:
        where += f"[{map_index}]"
    log.error("lakehouse pipeline: %s failed: %s: %s", where, type(exception).__name__, exception)


def business_report() -> str:
    """The PySpark business report over the marts, in its own process (and its own small Spark)."""
    lake = config.lake_uri()
    env = {**os.environ, **config.google_credentials_env()}
    subprocess.run([sys.executable, "-m", "reports.business_report", "--lake", lake], check=True, env=env)
    return f"{lake}/reports/latest.html"


def publish_docs(dbt_target: str) -> str:
    """`dbt docs generate --static`, then the site published beside the lake (`<lake>/docs/`).

    dbt runs in this process (as Cosmos runs it), so a Spark session the transform left open is
    reused instead of a second one fighting over the session target's metastore.
    """
    from dbt.cli.main import dbtRunner

    from reports.docs_site import publish_docs as publish

    repo = Path(__file__).resolve().parent.parent
    target_dir = local_dir() / "dbt-docs-target"
    os.environ.update(config.dbt_env())
    result = dbtRunner().invoke(
        [
            "docs",
            "generate",
            "--static",
            "--project-dir",
            str(repo),
            "--profiles-dir",
            str(repo / "profiles"),
            "--target",
            dbt_target,
            "--target-path",
            str(target_dir),
        ]
    )
    if not result.success:
        raise RuntimeError(f"dbt docs generate failed: {result.exception}")
    return publish(target_dir, config.lake_uri())
