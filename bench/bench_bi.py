"""Benchmark: the TPC-H dashboard in Superset on the Thrift server, side by side in one run.

For each `--scale`, the pipeline's plain commands build a lake (load, extract, `dbt build`), then
`python -m bi serve` (`make bi`) serves it, and the dashboard is loaded as a browser loads it: every
chart's chart-data request at once (a browser sends six at a time to one host; so does this).

- first load, cache cold: every request with `force` (Superset asks Spark);
- first load, cache warm: the same requests again (Superset answers from its cache);
- filtered reload (customer region = ASIA), cold and warm;
- the ceiling: the same SQL that Superset sends (its chart-data API with `result_type: query`),
  run on the Thrift server directly with PyHive, six at a time: what Spark itself costs.

Usage: .venv/bin/python bench/bench_bi.py --scale 0.01 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bi.superset import SupersetApi  # noqa: E402
from bi.tpch import DASHBOARD  # noqa: E402
from orchestration.services import free_port  # noqa: E402

BIN = Path(sys.executable).parent
READY = re.compile(r"Superset on (http://127\.0\.0\.1:\d+) \(user admin, password (\S+)\)")
PARALLEL = 6  # a browser's connections to one host
console = Console(width=120)


def run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def build_lake(scale: float, env: dict[str, str]) -> None:
    csv = REPO / ".local" / "bench" / f"tpch-sf{scale:g}"
    if not (csv / "lineitem.csv").exists():
        run([str(BIN / "tpchgen-cli"), "csv", "-s", f"{scale:g}", "--output-dir", str(csv)], env)
    database = env["BENCH_DATABASE"]
    py = [sys.executable, "-m"]
    run([*py, "ingest", "load", "--dataset", "tpch", "--source", str(csv), "--database", database, "--force"], env)
    run([*py, "ingest", "extract", "--dataset", "tpch", "--database", database], env)
    run([str(BIN / "dbt"), "build", "--target", "local"], env)


def timed_batch(requests: list[Any], call: Any) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(call, requests))
    return time.perf_counter() - started


def dashboard_requests(api: SupersetApi, filters: list[dict[str, Any]] | None, force: bool) -> list[dict[str, Any]]:
    unfiltered = {c.name for c in DASHBOARD.unfiltered}
    return [
        api.chart_query(api.chart_id(c.name), None if c.name in unfiltered else filters, force)
        for c in DASHBOARD.charts
    ]


def ceiling(api: SupersetApi, requests: list[dict[str, Any]], env: dict[str, str]) -> float:
    """The same SQL on the Thrift server directly, with PyHive, six at a time."""
    from pyhive import hive

    sqls = []
    for request in requests:
        [answer] = api.call("POST", "/api/v1/chart/data", {**request, "result_type": "query"})["result"]
        sqls.append(answer["query"])

    def execute(sql: str) -> None:
        connection = hive.connect(host="127.0.0.1", port=int(env["SPARK_THRIFT_PORT"]), username="dbt")
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            cursor.fetchall()
        finally:
            connection.close()

    return timed_batch(sqls, execute)


def bench_scale(scale: float, base_env: dict[str, str]) -> dict[str, float]:
    tag = f"sf{scale:g}".replace(".", "_")
    state = REPO / ".local" / "bench" / f"bi-{tag}"
    shutil.rmtree(state, ignore_errors=True)
    env = {
        **base_env,
        "LAKEHOUSE_LOCAL_DIR": str(state),
        "LAKEHOUSE_LAKE_URI": f"file://{state}/lake",
        "DBT_TARGET_PATH": str(state / "dbt-target"),
        "DBT_LOG_PATH": str(state / "dbt-logs"),
        "BENCH_DATABASE": f"bench_bi_{tag}",
        "LAKEHOUSE_BI_PORT": str(free_port()),
        "SPARK_THRIFT_PORT": str(free_port()),
        "SPARK_THRIFT_UI_PORT": str(free_port()),
    }
    started = time.perf_counter()
    build_lake(scale, env)
    times = {"build the lake": time.perf_counter() - started}
    log = state / "bi.log"
    started = time.perf_counter()
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "bi", "serve"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ready = None
        while ready is None and server.poll() is None:
            time.sleep(1)
            ready = READY.search(log.read_text(errors="replace"))
        if ready is None:
            raise SystemExit(f"bi serve did not start:\n{log.read_text()[-3000:]}")
        times["start (Thrift server, Superset, import)"] = time.perf_counter() - started
        api = SupersetApi.sign_in(ready.group(1), "admin", ready.group(2))
        region = [{"col": "customer_region", "op": "IN", "val": ["ASIA"]}]
        for label, filters in (("first load", None), ("filtered reload", region)):
            cold = dashboard_requests(api, filters, force=True)
            times[f"{label}, cache cold"] = timed_batch(cold, api.chart_data)
            warm = dashboard_requests(api, filters, force=False)
            times[f"{label}, cache warm"] = timed_batch(warm, api.chart_data)
            times[f"{label}, the SQL on the Thrift server"] = ceiling(api, cold, env)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=120)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, nargs="+", default=[0.01, 1.0])
    parser.add_argument("--out", default="bi.json", help="results file under bench/results/")
    args = parser.parse_args()
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "LAKEHOUSE_PSEUDONYM_KEY": os.environ.get("LAKEHOUSE_PSEUDONYM_KEY") or secrets.token_hex(32),
    }
    results: dict[str, dict[str, float]] = {}
    charts = len(DASHBOARD.charts)
    table = Table(title=f"The TPC-H dashboard in Superset ({charts} charts, {PARALLEL} requests at once)")
    table.add_column("scale", justify="right")
    table.add_column("what", justify="left")
    table.add_column("seconds", justify="right")
    table.add_column("vs the SQL alone", justify="right")
    for scale in args.scale:
        times = bench_scale(scale, env)
        results[f"sf{scale:g}"] = times
        for what, seconds in times.items():
            label = what.split(",")[0]
            base = times.get(f"{label}, the SQL on the Thrift server")
            ratio = f"{seconds / base:.2f}x" if base and "cache" in what else ""
            table.add_row(f"{scale:g}", what, f"{seconds:.2f}", ratio)
    console.print(table)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
