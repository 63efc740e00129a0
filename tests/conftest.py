"""Shared fixtures: the real MySQL server, TPC-H 0.01 CSV files, throwaway databases."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from ingest.core.contract import Contract, load_contract
from ingest.core.mysql import MySQLUnavailable, connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings

from .pipeline import Pipeline

# Airflow reads its configuration when first imported (test modules import it at collection), so
# the tests' private Airflow home is set here, before any test module is imported.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="lakehouse-airflow-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
os.environ["DATAHUB_TELEMETRY_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
# DataHub's Airflow plugin reads its settings once per process, when its listener loads: on (`make`
# turns it off), for the dataset DAG's runs only. It re-emits the DAG and a status per task on every
# task start (18,000 records for TPC-H's 170-task DAG, about a minute), which the suite cannot afford
# on every TPC-H run; the 37-task dataset DAG shows the same behaviour (tests/e2e/conftest.py).
os.environ["AIRFLOW__DATAHUB__ENABLED"] = "True"
os.environ["AIRFLOW__DATAHUB__DAG_FILTER_STR"] = '{"allow": ["lakehouse_pipeline__nycflights13"]}'
# Retries after a second, not thirty: the DAG tests retry a failed model on purpose.
os.environ.setdefault("LAKEHOUSE_RETRY_DELAY_SECONDS", "1")
# The masked models' key for the suite (`make` exports the laptop's; a run without make gets one).
os.environ.setdefault("LAKEHOUSE_PSEUDONYM_KEY", secrets.token_hex(32))

TPCH_SCALE = 0.01
TPCH_ROWS = {
    "region": 5,
    "nation": 25,
    "part": 2000,
    "supplier": 100,
    "partsupp": 8000,
    "customer": 1500,
    "orders": 15000,
    "lineitem": 60175,
}


@pytest.fixture(scope="session", autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the tests' quarantine files, lakes and audit rows away from the developer's own."""
    local = tmp_path_factory.mktemp("local")
    saved = {k: os.environ.get(k) for k in ("LAKEHOUSE_LOCAL_DIR", "LAKEHOUSE_AUDIT_DB")}
    os.environ["LAKEHOUSE_LOCAL_DIR"] = str(local)
    os.environ["LAKEHOUSE_AUDIT_DB"] = "lakehouse_audit_test"
    yield local
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def mysql_settings() -> MySQLSettings:
    settings = MySQLSettings.from_env()
    try:
        connect(settings).close()
    except MySQLUnavailable as exc:
        pytest.exit(f"the tests need a MySQL server: {exc}", returncode=3)
    return settings


@pytest.fixture()
def mysql(mysql_settings: MySQLSettings) -> Iterator[pymysql.connections.Connection]:  # type: ignore[type-arg]
    conn = connect(mysql_settings)
    yield conn
    conn.close()


@pytest.fixture()
def database(mysql_settings: MySQLSettings) -> Iterator[str]:
    """A fresh database name, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    conn = connect(mysql_settings)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")
    conn.close()


@pytest.fixture(scope="session")
def binlog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MySQLSettings]:
    """A private MariaDB with its binary log on (change data capture), started and stopped by the
    project's own script."""
    from tests.net import free_port

    state = tmp_path_factory.mktemp("binlog")
    url = f"mysql://root@127.0.0.1:{free_port()}"
    env = {**os.environ, "LAKEHOUSE_LOCAL_DIR": str(state), "LAKEHOUSE_MYSQL_URL": url}
    script = str(REPO_ROOT / "scripts" / "mysql-local.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stdout + started.stderr + (state / "mysql" / "mysqld.log").read_text()
    try:
        yield MySQLSettings.from_url(url)
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def tpch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TPC-H scale 0.01 as CSV, generated once per test session through the project's own CLI."""
    out = tmp_path_factory.mktemp("tpch")
    subprocess.run(
        [sys.executable, "-m", "ingest", "generate-tpch", "--scale", str(TPCH_SCALE), "--out", str(out)],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def tpch_contract() -> Contract:
    return load_contract(REPO_ROOT / "ingest" / "contracts" / "tpch.yml")


def table_count(conn: pymysql.connections.Connection, database: str, table: str) -> int:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {quote_identifier(database)}.{quote_identifier(table)}")
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])


BUILD_IN_ONE_PROCESS = """
import sys
from pathlib import Path
from dbt.cli.main import dbtRunner
from governance.run_results import save_run_results

dbt = dbtRunner()  # one process, one Spark session for the three commands
if not dbt.invoke(["build", "--target", "local"]).success:
    sys.exit("dbt build failed")
save_run_results(Path(sys.argv[1]))
if not dbt.invoke(["docs", "generate", "--static", "--target", "local"]).success:
    sys.exit("dbt docs generate failed")
"""


@pytest.fixture(scope="session")
def built_chain(
    tmp_path_factory: pytest.TempPathFactory,
    tpch_dir: Path,
    tpch_contract: Contract,
    mysql_settings: MySQLSettings,
) -> Iterator[Pipeline]:
    """TPC-H 0.01 through the chain once for the session, in a private folder: loaded into MySQL,
    extracted into a fresh lake, `dbt build` on the local target (run results saved), and
    `dbt docs generate --static`. The dbt, governance and report tests read it; none changes it."""
    from ingest.load import LoadOptions, load_dataset

    root = tmp_path_factory.mktemp("chain")
    database = f"test_chain_{os.getpid()}"
    load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database, force=True))
    chain = Pipeline(root, tpch_dir, database)
    try:
        extract = chain.run(sys.executable, "-m", "ingest", "extract", "--dataset", "tpch", "--database", database)
        assert extract.returncode == 0, extract.stderr
        built = chain.run(sys.executable, "-c", BUILD_IN_ONE_PROCESS, str(chain.target))
        assert built.returncode == 0, built.stdout[-6000:] + built.stderr[-2000:]
        yield chain
    finally:
        conn = connect(mysql_settings)
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(database)}")
        conn.close()


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium from Debian's packages, installed by scripts/install-chromium.sh if missing."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        installed = subprocess.run(
            [str(REPO_ROOT / "scripts" / "install-chromium.sh")], capture_output=True, text=True, timeout=900
        )
        assert installed.returncode == 0, f"cannot install Chromium: {installed.stderr}{installed.stdout}"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    # An explicit driver path: selenium does not look for (or download) one of its own.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
