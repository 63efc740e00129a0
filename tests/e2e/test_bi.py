"""Superset on the lakehouse, as a user runs it: `make bi` in a plain shell over the session's built
lake, signed in to with headless Chromium; the dashboard's numbers read through Superset's own
chart-data API and checked against the lake's Parquet read by DuckDB; Ctrl+C stops it all."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bi.superset import SupersetApi
from bi.tpch import DASHBOARD, NET_REVENUE, PRICING, SHARE, SHIPPING
from governance.urns import dataset_urns, spelling
from ingest.core.settings import REPO_ROOT
from tests.datahub_records import chain_to_csv, dbt_urn, index
from tests.net import free_port
from tests.pipeline import Pipeline

pytestmark = pytest.mark.timeout(1800)
READY = re.compile(r"Superset on (http://127\.0\.0\.1:\d+) \(user admin, password (\S+)\)")


@dataclass
class BiSession:
    url: str
    password: str
    process: subprocess.Popen[bytes]
    log: Path
    chain: Pipeline
    thrift_port: int

    def api(self) -> SupersetApi:
        return SupersetApi.sign_in(self.url, "admin", self.password)


def plain_shell_path() -> str:
    """PATH as a fresh shell has it: without .venv/bin."""
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent)


@pytest.fixture(scope="module")
def bi(built_chain: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BiSession]:
    root = tmp_path_factory.mktemp("bi")
    thrift_port = free_port()
    env = {
        **built_chain.env,
        "PATH": plain_shell_path(),
        "DBT_TARGET_PATH": str(root / "dbt-target"),  # make's manifest step writes here, not the chain's
        "LAKEHOUSE_BI_PORT": str(free_port()),
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
        deadline, ready = time.monotonic() + 900, None
        while ready is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(2)
            ready = READY.search(log.read_text(errors="replace"))
        assert ready is not None, log.read_text(errors="replace")[-5000:]
        yield BiSession(ready.group(1), ready.group(2), process, log, built_chain, thrift_port)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def parquet(chain: Pipeline, model: str) -> str:
    return f"read_parquet('{chain.lake}/lakehouse/{model}/**/*.parquet')"


def lake_value(chain: Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def chart_rows(api: SupersetApi, name: str, filters: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """A chart's data through Superset's chart-data API, as the dashboard's frontend asks for it."""
    return api.chart_data(api.chart_query(api.chart_id(name), filters))


def close(a: Any, b: Any) -> bool:
    """Equal within a relative 1e-9: JSON carries Spark's decimals as floats."""
    got, want = Decimal(str(a)), Decimal(str(b))
    return abs(got - want) <= Decimal("1e-9") * max(Decimal(1), abs(want))


def test_the_dashboard_s_numbers_are_the_lake_s(bi: BiSession) -> None:
    """Three TPC-H answers and the revenue figure, through Superset's chart-data API (Superset ->
    Thrift server -> Parquet), equal DuckDB's reading of the same models in the lake."""
    api, chain = bi.api(), bi.chain
    pricing = sorted(chart_rows(api, PRICING.name), key=lambda r: (r["return_flag"], r["line_status"]))
    with duckdb.connect() as con:
        result = con.execute(f"select * from {parquet(chain, 'rpt_pricing_summary')} order by 1, 2")
        names = [d[0] for d in result.description]
        expected = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    assert len(pricing) == len(expected) == 4
    for row, want in zip(pricing, expected, strict=True):
        assert row.keys() == want.keys()
        assert all(row[c] == w if isinstance(w, str) else close(row[c], w) for c, w in want.items()), (row, want)

    shipping = {
        r["ship_mode"]: (r["high_priority_lines"], r["low_priority_lines"]) for r in chart_rows(api, SHIPPING.name)
    }
    table = parquet(chain, "rpt_shipping_modes_and_order_priority")
    assert shipping == {m: (h, lo) for m, h, lo in lake_value(chain, f"select * from {table}")}

    share = {int(r["order_year"]): r["market_share"] for r in chart_rows(api, SHARE.name)}
    want_share = dict(
        lake_value(chain, f"select order_year, market_share from {parquet(chain, 'rpt_national_market_share')}")
    )
    assert share.keys() == want_share.keys() and all(close(share[y], want_share[y]) for y in share)

    [[total]] = lake_value(chain, f"select sum(net_revenue) from {parquet(chain, 'fct_order_lines')}")
    [revenue] = chart_rows(api, NET_REVENUE.name)
    assert close(revenue["net_revenue"], total)


def test_a_region_filter_gives_that_region_s_revenue(bi: BiSession) -> None:
    """The dashboard's region filter, as the chart-data API applies it, against DuckDB's join of
    the restricted fact and dimension (not the flat mart the chart reads)."""
    api, chain = bi.api(), bi.chain
    by_region = dict(
        lake_value(
            chain,
            f"select c.region_name, sum(l.net_revenue) from {parquet(chain, 'fct_order_lines')} l "
            f"join {parquet(chain, 'dim_customer')} c using (customer_key) group by 1",
        )
    )
    assert len(by_region) == 5
    for region in ("ASIA", "EUROPE"):
        filters = [{"col": "customer_region", "op": "IN", "val": [region]}]
        [row] = chart_rows(api, NET_REVENUE.name, filters)
        assert close(row["net_revenue"], by_region[region])
    both = [{"col": "customer_region", "op": "IN", "val": ["ASIA", "EUROPE"]}]
    [row] = chart_rows(api, NET_REVENUE.name, both)
    assert close(row["net_revenue"], by_region["ASIA"] + by_region["EUROPE"])


def test_importing_the_dashboards_again_adds_no_copies(bi: BiSession, monkeypatch: pytest.MonkeyPatch) -> None:
    from bi.cli import import_dashboards
    from bi.superset import superset_env

    api = bi.api()
    before = {kind: len(api.all(kind)) for kind in ("dashboard", "chart", "dataset", "database")}
    assert before == {"dashboard": 1, "chart": 14, "dataset": 4, "database": 1}
    monkeypatch.setenv("LAKEHOUSE_LOCAL_DIR", bi.chain.env["LAKEHOUSE_LOCAL_DIR"])  # make bi's key and metadata
    import_dashboards(superset_env())
    assert {kind: len(api.all(kind)) for kind in before} == before


def test_signed_in_in_a_browser_every_chart_renders_with_data(bi: BiSession, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(f"{bi.url}/login/")
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.ID, "username"))
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(bi.password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 60).until(lambda d: "/login" not in d.current_url)
    browser.get(f"{bi.url}/superset/dashboard/tpch-business/")
    holders = '[data-test="chart-grid-component"]'

    def rendered(driver: Any) -> bool:
        charts = driver.find_elements(By.CSS_SELECTOR, holders)
        if len(charts) != 14 or driver.find_elements(By.CSS_SELECTOR, '[data-test="loading-indicator"]'):
            return False
        return all(c.find_elements(By.CSS_SELECTOR, "svg, canvas, table, .header-line") for c in charts)

    WebDriverWait(browser, 600, poll_frequency=2).until(rendered)
    browser.save_screenshot(str(tmp_path / "dashboard.png"))
    errors = browser.find_elements(By.CSS_SELECTOR, f'{holders} [role="alert"], {holders} [data-test="empty-state"]')
    assert [e.text for e in errors] == []
    titles = {e.text for e in browser.find_elements(By.CSS_SELECTOR, '[data-test="slice-header"]')}
    assert len(titles) == 14


def test_datahub_walks_from_the_dashboard_to_the_csv_files(bi: BiSession) -> None:
    """DataHub's superset source, merged into the pipeline's metadata file: the dashboard holds its
    14 charts, each chart reads a Superset dataset, whose upstream is the dbt model's Spark table,
    and from there the lineage reaches the CSV files; the URN check holds for the new datasets."""
    chain = bi.chain
    env = {**chain.env, "DATAHUB_TELEMETRY_ENABLED": "false", "HOME": str(chain.root)}
    for command in (
        ["governance", "emit", "--target-path", str(chain.target)],
        ["governance", "superset", "--url", bi.url, "--password-file", str(chain.root / "bi" / "admin_password")],
    ):
        done = subprocess.run([sys.executable, "-m", *command], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = json.loads((chain.lake / "governance" / "metadata.json").read_text())
    assert bi.password not in json.dumps(records)
    aspects = index(records)
    [dashboard] = [
        u for u, a in aspects.items() if u.startswith("urn:li:dashboard:(superset,") and "dashboardInfo" in a
    ]
    info = aspects[dashboard]["dashboardInfo"]
    assert info["title"] == "TPC-H business overview"
    charts = info.get("charts") or [e["destinationUrn"] for e in info.get("chartEdges", [])]
    assert len(charts) == 14
    reached: set[str] = set()
    for chart in charts:
        chart_info = aspects[chart]["chartInfo"]
        inputs = chart_info.get("inputs") or [e["destinationUrn"] for e in chart_info.get("inputEdges", [])]
        assert len(inputs) == 1, chart
        path = chain_to_csv(aspects, inputs[0])
        assert path is not None, f"{chart_info['title']}: no lineage to a CSV file from {inputs[0]}"
        assert path[1].startswith("urn:li:dataset:(urn:li:dataPlatform:spark,lakehouse_"), path
        assert path[-1].startswith(f"urn:li:dataset:(urn:li:dataPlatform:file,{chain.csv_dir}"), path
        reached.add(path[1])
    assert reached == {dbt_urn(f"{d.schema}.{d.table}", "spark") for d in DASHBOARD.datasets}

    superset_names = {u for u in dataset_urns(records) if ":superset," in u}
    assert {spelling(u) for u in superset_names} == {f"{d.schema}.{d.table},prod" for d in DASHBOARD.datasets}
    assert not [u for u in dataset_urns(records) if ":hive," in u]  # every Thrift table named on Spark


def test_ctrl_c_stops_superset_and_the_thrift_server_it_started(bi: BiSession) -> None:
    os.killpg(bi.process.pid, signal.SIGINT)
    assert bi.process.wait(timeout=120) == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{bi.url}/health", timeout=5)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", bi.thrift_port), timeout=5).close()
