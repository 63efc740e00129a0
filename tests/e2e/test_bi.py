"""`make bi` as a person runs it: Superset over the lake's dbt tables on a local Spark Thrift
server, the TPC-H dashboard imported, its charts answering what the lake holds, in a browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bi.superset import SupersetApi
from bi.tpch import DASHBOARD
from governance.urns import check, dataset_urns
from ingest.core.settings import REPO_ROOT
from tests.conftest import TPCH_ROWS
from tests.datahub_records import chain_to_csv, dbt_urn, index, upstreams
from tests.net import free_port
from tests.pipeline import Pipeline

pytestmark = pytest.mark.slow
READY = re.compile(r"Superset on (http://\S+) \(user admin, password (\S+)\)")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    password: str
    api: SupersetApi
    log: Path
    env: dict[str, str]
    ports: tuple[int, int]  # Superset's and the Thrift server's
    lake: Path


def plain_shell_path() -> str:
    """PATH as a fresh shell has it: without .venv/bin."""
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def served(built_chain: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`make bi` over the shared chain's lake, with state of its own (Superset's metadata, the
    Thrift server's metastore) and a copy of its dbt target (`make bi` parses the project again)."""
    root = tmp_path_factory.mktemp("bi")
    target = root / "dbt-target"
    shutil.copytree(built_chain.target, target)
    superset_port, thrift_port = free_port(), free_port()
    env = {
        **built_chain.env,
        "PATH": plain_shell_path(),
        "LAKEHOUSE_LOCAL_DIR": str(root),
        "DBT_TARGET_PATH": str(target),
        "LAKEHOUSE_BI_PORT": str(superset_port),
        "SPARK_THRIFT_PORT": str(thrift_port),
        "SPARK_THRIFT_UI_PORT": str(free_port()),
    }
    log = root / "make-bi.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "-s", "bi"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 900
        ready = None
        while ready is None:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"`make bi` did not get ready:\n{log.read_text()[-5000:]}"
            ready = READY.search(log.read_text())
            time.sleep(2)
        url, password = ready.groups()
        api = SupersetApi.sign_in(url, "admin", password)
        yield Served(process, url, password, api, log, env, (superset_port, thrift_port), built_chain.lake)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def lake_query(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    """DuckDB on the lake's Parquet: `{model}` names a dbt model's folder."""
    models = {
        name: f"read_parquet('{lake}/lakehouse/{name}/**/*.parquet', hive_partitioning = false)"
        for name in ("fct_order_lines", "dim_customer", "sales_order_lines")
    }
    with duckdb.connect() as con:
        return con.execute(sql.format(**models)).fetchall()


def lake_rows(lake: Path, model: str, columns: list[str]) -> list[tuple[Any, ...]]:
    """A model's rows from its Parquet folder, the columns in this order, sorted."""
    selected = ", ".join(f'"{c}"' for c in columns)
    with duckdb.connect() as con:
        rows = con.execute(f"select {selected} from read_parquet('{lake}/lakehouse/{model}/*.parquet')").fetchall()
    return sorted(tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows)


def assert_rows_equal(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """Row by row, numbers to 1e-9 relative (JSON carries decimals as floats), the rest exactly."""
    assert len(got) == len(expected), (got, expected)
    for row, want in zip(got, expected, strict=True):
        assert len(row) == len(want)
        for value, wanted in zip(row, want, strict=True):
            if isinstance(wanted, float) and value is not None:
                assert float(value) == pytest.approx(wanted, rel=1e-9), (row, want)
            else:
                assert value == wanted, (row, want)


def single(rows: list[dict[str, Any]]) -> Any:
    [row] = rows
    [value] = row.values()
    return value


def test_every_chart_of_the_dashboard_answers_from_the_lake(served: Served) -> None:
    api = served.api
    [dashboard] = [d for d in api.all("dashboard") if d["slug"] == DASHBOARD.slug]
    assert dashboard["dashboard_title"] == DASHBOARD.title
    ours = f"/api/v1/dashboard/{dashboard['id']}/charts"
    charts = {c["slice_name"]: int(c["id"]) for c in api.call("GET", ours)["result"]}
    assert sorted(charts) == sorted(c.name for c in DASHBOARD.charts)
    for name, chart_id in charts.items():
        assert api.chart_data(api.chart_query(chart_id)), name
    orders = single(api.chart_data(api.chart_query(charts["Orders"])))
    assert orders == TPCH_ROWS["orders"]
    # The lake's own lines, summed by DuckDB: Superset reads the same Parquet through Spark.
    [(revenue,)] = lake_query(served.lake, "select sum(net_revenue) from {fct_order_lines}")
    assert Decimal(str(single(api.chart_data(api.chart_query(charts["Net revenue"]))))) == pytest.approx(revenue)
    [(lines,)] = lake_query(served.lake, "select count(*) from {sales_order_lines}")
    assert lines == TPCH_ROWS["lineitem"]


def test_the_native_filters_narrow_the_charts_as_duckdb_does(served: Served) -> None:
    """What the Customer region and Market segment filters add to a chart's query, by value."""
    api = served.api
    revenue_chart = api.chart_id("Net revenue")
    expected = dict(
        lake_query(
            served.lake,
            "select c.region_name, sum(l.net_revenue) from {fct_order_lines} l"
            " join {dim_customer} c using (customer_key) group by 1",
        )
    )
    assert len(expected) == 5
    for region, revenue in expected.items():
        filters = [{"col": "customer_region", "op": "IN", "val": [region]}]
        got = single(api.chart_data(api.chart_query(revenue_chart, filters, force=True)))
        assert Decimal(str(got)) == pytest.approx(revenue), region
    segments = api.chart_data(api.chart_query(api.chart_id("Net revenue by market segment")))
    [(segment_count,)] = lake_query(served.lake, "select count(distinct market_segment) from {dim_customer}")
    assert len(segments) == segment_count == 5


GRID = '[data-test="chart-grid-component"]'


def sign_in(browser: Any, served: Served) -> None:
    """Superset's login form, with the password `make bi` printed (once per browser session)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(f"{served.url}/login/")
    if "/login" not in browser.current_url:
        return  # signed in already: Superset sends the form's visitor home
    wait = WebDriverWait(browser, 120)
    wait.until(expected_conditions.presence_of_element_located((By.ID, "username"))).send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(served.password, Keys.ENTER)
    wait.until(lambda driver: "/login" not in driver.current_url)


def drawn(driver: Any) -> bool:
    """Every chart of the TPC-H dashboard has drawn (a canvas, an SVG or a table) and none is loading."""
    from selenium.webdriver.common.by import By

    loading = driver.find_elements(By.CSS_SELECTOR, '[data-test="loading-indicator"]')
    drawings = driver.find_elements(By.CSS_SELECTOR, f"{GRID} canvas, {GRID} svg, {GRID} table")
    return not loading and len(drawings) >= len(DASHBOARD.charts)


def test_a_person_opens_the_dashboard_in_a_browser(served: Served, browser: Any, tmp_path: Path) -> None:
    """Sign in with the printed password, open the dashboard: every chart draws, none shows an error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    wait = WebDriverWait(browser, 120)
    sign_in(browser, served)
    browser.get(f"{served.url}/superset/dashboard/{DASHBOARD.slug}/")
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, GRID)) == len(DASHBOARD.charts))
    wait.until(drawn)
    shot = Path(os.environ.get("LAKEHOUSE_SCREENSHOTS", tmp_path)) / "superset-tpch-dashboard.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1280, 2400)  # the whole dashboard in one picture
    try:
        wait.until(drawn)
        browser.save_screenshot(str(shot))
    finally:
        browser.set_window_size(1280, 1000)
    page = browser.find_element(By.TAG_NAME, "body").text
    assert DASHBOARD.title in browser.title
    assert f"{TPCH_ROWS['orders']:,}" in page  # the Orders big number, formatted ",d"
    for chart in DASHBOARD.charts:
        assert chart.name in page, chart.name
    errors = browser.find_elements(By.CSS_SELECTOR, '[data-test="error-tooltip"], .ant-alert-error')
    assert not errors, [e.text for e in errors]
    for name in ("Customer region", "Market segment", "Order date"):
        assert name in page, name


def test_a_shared_link_with_a_region_filter_narrows_the_dashboard_in_the_browser(served: Served, browser: Any) -> None:
    """The region filter as a person shares it: the dashboard's permalink with Customer region = ASIA
    (what "Copy permalink" makes after picking ASIA), opened in the browser, shows ASIA's figures."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    [(asia_orders,)] = lake_query(
        served.lake,
        "select count(distinct l.order_key) from {fct_order_lines} l join {dim_customer} c using (customer_key)"
        " where c.region_name = 'ASIA'",
    )
    assert 0 < asia_orders < TPCH_ROWS["orders"]
    [dashboard] = [d for d in served.api.all("dashboard") if d["slug"] == DASHBOARD.slug]
    region = next(f for f in DASHBOARD.filters if f.column == "customer_region")
    mask = {
        region.id: {
            "id": region.id,
            "extraFormData": {"filters": [{"col": "customer_region", "op": "IN", "val": ["ASIA"]}]},
            "filterState": {"value": ["ASIA"], "label": "ASIA"},
            "ownState": {},
        }
    }
    body = {"dataMask": mask, "activeTabs": [], "urlParams": []}
    link = served.api.call("POST", f"/api/v1/dashboard/{dashboard['id']}/permalink", body)
    sign_in(browser, served)
    browser.get(link["url"])
    wait = WebDriverWait(browser, 120)
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, GRID)) == len(DASHBOARD.charts))
    wait.until(lambda driver: drawn(driver) and f"{asia_orders:,}" in driver.find_element(By.TAG_NAME, "body").text)
    page = browser.find_element(By.TAG_NAME, "body").text
    assert f"{TPCH_ROWS['orders']:,}" not in page  # the unfiltered figure is gone
    assert "ASIA" in page


def test_importing_the_bundles_again_overwrites_and_adds_nothing(served: Served) -> None:
    """The dashboards are code: importing them again (as every `make bi` does) leaves one copy."""
    before = {kind: len(served.api.all(kind)) for kind in ("dashboard", "chart", "dataset", "database")}
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bi.cli import committed_dashboards, import_dashboards\n"
            "from bi.superset import state_dir, superset_env\n"
            "generated = sorted((state_dir() / 'dashboards').iterdir())\n"
            "import_dashboards([*committed_dashboards(), *generated], superset_env())",
        ],
        cwd=REPO_ROOT,
        env={**served.env, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    after = {kind: len(served.api.all(kind)) for kind in before}
    assert after == before
    assert before["dashboard"] == 2 and before["database"] == 1  # TPC-H's and the generated tpch one


def test_the_rpt_charts_show_the_rpt_models(served: Served, built_chain: Pipeline) -> None:
    """Three charts of TPC-H answers, through the chart-data API, equal their dbt models in the lake."""
    api = served.api
    pricing = api.chart_data(api.chart_query(api.chart_id("Pricing summary (TPC-H Q1)")))
    columns = list(pricing[0])
    expected = lake_rows(served.lake, "rpt_pricing_summary", columns)
    assert_rows_equal(sorted(tuple(row.values()) for row in pricing), expected)
    shipping = api.chart_data(api.chart_query(api.chart_id("Shipping modes and order priority (TPC-H Q12)")))
    got = sorted((r["ship_mode"], r["high_priority_lines"], r["low_priority_lines"]) for r in shipping)
    assert_rows_equal(
        got,
        lake_rows(
            served.lake, "rpt_shipping_modes_and_order_priority", ["ship_mode", "high_line_count", "low_line_count"]
        ),
    )
    share = api.chart_data(api.chart_query(api.chart_id("Brazil's market share in America (TPC-H Q8)")))
    got_share = sorted((r["order_year"], r["market_share"]) for r in share)
    assert_rows_equal(got_share, lake_rows(served.lake, "rpt_national_market_share", ["order_year", "market_share"]))
    assert len(got_share) == 2  # 1995 and 1996


def test_the_generated_dashboard_profiles_each_table_and_shows_no_personal_column(served: Served) -> None:
    api = served.api
    [profile] = [d for d in api.all("dashboard") if d["slug"] == "tpch-profile"]
    charts = {c["slice_name"]: int(c["id"]) for c in api.all("chart") if c["slice_name"].split(":")[0] in TPCH_ROWS}
    for table, rows in TPCH_ROWS.items():
        assert single(api.chart_data(api.chart_query(charts[f"{table}: rows"]))) == rows, table
    segments = api.chart_data(api.chart_query(charts["customer: top market_segment values"]))
    assert len(segments) == 5 and sum(r["rows"] for r in segments) == TPCH_ROWS["customer"]
    monthly = api.chart_data(api.chart_query(charts["orders: rows by month of order_date"]))
    assert sum(r["rows"] for r in monthly) == TPCH_ROWS["orders"] and len(monthly) > 70
    datasets = {d["table_name"]: d["id"] for d in api.all("dataset")}
    customer = api.call("GET", f"/api/v1/dataset/{datasets['stg_tpch__customer']}")["result"]
    names = {c["column_name"] for c in customer["columns"]}
    assert "market_segment" in names and not names & {"customer_name", "customer_address", "customer_phone"}
    assert profile["dashboard_title"] == "tpch: tables profile"


def linked(aspect: Any) -> list[str]:
    """The URNs an aspect's edges point at (`chartEdges`, `inputEdges`, ...) or lists (`charts`, `inputs`)."""
    found: list[str] = []
    for key, value in (aspect or {}).items():
        if key.endswith("Edges"):
            found += [edge["destinationUrn"] for edge in value]
        elif key in ("charts", "inputs", "datasets"):
            found += [item if isinstance(item, str) else item.get("string", "") for item in value]
    return list(dict.fromkeys(found))


def test_each_dashboard_s_lineage_reaches_the_csv_files(served: Served, built_chain: Pipeline, tmp_path: Path) -> None:
    """DataHub's superset source, merged into the lake's metadata by `python -m governance superset`:
    dashboard -> charts -> Superset datasets -> the dbt models on Spark -> ... -> the CSV files."""
    runner = Pipeline(tmp_path, built_chain.csv_dir, built_chain.database)
    shutil.copytree(built_chain.lake, runner.lake, ignore=shutil.ignore_patterns("governance"))
    shutil.copytree(built_chain.target, runner.target)
    (tmp_path / "home").mkdir()
    runner.env |= {"HOME": str(tmp_path / "home"), "DATAHUB_TELEMETRY_ENABLED": "false"}
    emitted = runner.run(sys.executable, "-m", "governance", "emit", "--target-path", str(runner.target))
    assert emitted.returncode == 0, emitted.stdout[-3000:] + emitted.stderr[-3000:]
    password_file = served.log.parent / "bi" / "admin_password"
    added = runner.run(
        sys.executable, "-m", "governance", "superset", "--url", served.url, "--password-file", str(password_file)
    )
    assert added.returncode == 0, added.stdout[-3000:] + added.stderr[-3000:]
    records = json.loads((runner.lake / "governance" / "metadata.json").read_text(encoding="utf-8"))
    assert served.password not in json.dumps(records) + added.stdout + added.stderr
    aspects = index(records)
    dashboards = [urn for urn in aspects if urn.startswith("urn:li:dashboard:(superset,")]
    assert len(dashboards) == 2, dashboards
    for dashboard in dashboards:
        charts = linked(aspects[dashboard].get("dashboardInfo"))
        assert charts, (dashboard, aspects[dashboard])
        for chart in charts:
            inputs = linked(aspects[chart].get("chartInfo"))
            assert inputs, (chart, aspects[chart])
            for dataset in inputs:
                path = chain_to_csv(aspects, dataset)
                assert path is not None, f"{chart} -> {dataset}: no chain to a CSV file ({upstreams(aspects, dataset)})"
                assert any(":dataPlatform:spark," in urn for urn in path) and any(":mysql," in urn for urn in path)
    # The URN check: the tables the dashboards read are the dbt models' own Spark datasets, one spelling each.
    read = (
        "lakehouse_marts.sales_order_lines",
        "lakehouse_reports.rpt_pricing_summary",
        "lakehouse_staging.stg_tpch__customer",
    )
    expected = {f"spark {name}": dbt_urn(name, "spark") for name in read}
    platforms = {"spark": {"spark", "hive", "databricks"}}
    assert check(expected, dataset_urns(records), platforms) == []


def test_ctrl_c_stops_superset_and_the_thrift_server_it_started(served: Served) -> None:
    assert all(listening(port) for port in served.ports)
    os.killpg(served.process.pid, signal.SIGINT)  # Ctrl+C reaches make and `python -m bi serve`
    served.process.wait(timeout=120)
    said = served.log.read_text().splitlines()
    assert said[-1] == "stopped" and "Spark Thrift server stopped" in said, said[-10:]
    deadline = time.monotonic() + 60
    while any(listening(port) for port in served.ports) and time.monotonic() < deadline:
        time.sleep(1)
    assert not any(listening(port) for port in served.ports), served.log.read_text()[-3000:]
    # The password is printed once, for the person at the terminal; Superset's own log never has it.
    assert served.log.read_text().count(served.password) == 1
    assert served.password not in (served.log.parent / "bi" / "superset.log").read_text()
