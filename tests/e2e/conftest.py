"""Fixtures of the end-to-end tests: Airflow's metadata and the DAG files, parsed once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.core.settings import REPO_ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture(scope="session")
def datahub_collector(isolated_state: Path) -> Iterator[Path]:
    """DataHub's Airflow plugin on, sending to a local collector, as `make demo` runs it."""
    from governance.collector import collecting, plugin_environment

    path = isolated_state / "governance" / "airflow.jsonl"
    with collecting(path) as url, pytest.MonkeyPatch.context() as patch:
        for key, value in plugin_environment(url, path).items():
            patch.setenv(key, value)
        yield path


@pytest.fixture(scope="session")
def airflow_home(isolated_state: Path, datahub_collector: Path) -> Path:
    """Airflow's SQLite metadata (in the tests' private AIRFLOW_HOME), the pool, dbt's manifest."""
    env = {**os.environ}
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True, env=env, timeout=300)
    subprocess.run(
        [AIRFLOW, "pools", "set", "spark_session", "1", "session-mode Spark"], check=True, capture_output=True
    )
    dbt = str(Path(sys.executable).parent / "dbt")
    subprocess.run([dbt, "parse", "--quiet"], check=True, cwd=REPO_ROOT, capture_output=True, timeout=300)
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def dagbag(airflow_home: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(REPO_ROOT / "dags"))
