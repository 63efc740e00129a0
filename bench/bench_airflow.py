"""Benchmark: what Airflow and Cosmos cost, side by side in one run.

1. DAG parse time of `dags/lakehouse_pipeline.py` with the dbt graph rendered from the manifest
   (`LoadMode.DBT_MANIFEST`, what the DAG uses) vs from `dbt ls` (`LoadMode.DBT_LS`, Cosmos's
   default when there is no manifest), each in a fresh process, Cosmos's cache off.
2. The whole pipeline at each `--scale` through Airflow (`airflow dags test lakehouse_pipeline`)
   vs the same steps as plain commands (load, extract, `dbt build`, report, docs): the
   orchestration overhead.

Usage: .venv/bin/python bench/bench_airflow.py --scale 0.1 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
console = Console(width=120)

PARSE_PROBE = """
import sys, time
started = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter()
bag = DagBag(sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(imported - started, time.perf_counter() - imported)
"""


def parse_seconds(dag_file: Path, env: dict[str, str], repeat: int = 3) -> tuple[float, float]:
    """(seconds importing Airflow, seconds parsing the file): the best of `repeat` fresh processes."""
    runs = []
    for _ in range(repeat):
        result = subprocess.run(
            [sys.executable, "-c", PARSE_PROBE, str(dag_file)], env=env, capture_output=True, text=True, check=True
        )
        imported, parsed = (float(v) for v in result.stdout.split()[-2:])
        runs.append((imported, parsed))
    return min(runs, key=lambda r: r[1])


def bench_parse(env: dict[str, str]) -> list[tuple[str, float, float]]:
    folder = Path(tempfile.mkdtemp(prefix="bench-dags-"))
    manifest_dag = REPO / "dags" / "lakehouse_pipeline.py"
    ls_dag = folder / "lakehouse_pipeline_dbt_ls.py"
    text = manifest_dag.read_text().replace("LoadMode.DBT_MANIFEST", "LoadMode.DBT_LS")
    text = text.replace("REPO = Path(__file__).resolve().parent.parent", f'REPO = Path("{REPO}")')
    # `dbt ls` runs at parse time, before Airflow renders templates: give it the values they render to.
    for field, value in (("host", "127.0.0.1"), ("port", "10000"), ("login", "dbt")):
        text = text.replace(f"{{{{ thrift_setting('{field}') }}}}", value)
    ls_dag.write_text(text)
    env = {**env, "AIRFLOW__COSMOS__ENABLE_CACHE": "False"}
    rows = []
    for label, path in (("DBT_MANIFEST (what the DAG uses)", manifest_dag), ("DBT_LS (dbt ls at parse)", ls_dag)):
        imported, parsed = parse_seconds(path, env)
        rows.append((label, imported, parsed))
    shutil.rmtree(folder)
    return rows


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def bench_pipeline(scale: float, base_env: dict[str, str]) -> dict[str, float]:
    tag = f"sf{scale:g}".replace(".", "_")
    csv = REPO / ".local" / "bench" / f"tpch-sf{scale:g}"
    if not (csv / "lineitem.csv").exists():
        timed([str(BIN / "tpchgen-cli"), "csv", "-s", f"{scale:g}", "--output-dir", str(csv)], base_env)
    times: dict[str, float] = {}
    for mode in ("plain", "airflow"):
        state = REPO / ".local" / "bench" / f"pipeline-{mode}-{tag}"
        shutil.rmtree(state, ignore_errors=True)
        env = {
            **base_env,
            "LAKEHOUSE_LOCAL_DIR": str(state),
            "LAKEHOUSE_LAKE_URI": f"file://{state}/lake",
            "AIRFLOW_HOME": str(state / "airflow"),
            "DBT_TARGET_PATH": str(state / "dbt-target"),
            "DBT_LOG_PATH": str(state / "dbt-logs"),
        }
        database = f"bench_{mode}_{tag}"
        subprocess.run(
            ["mysql", "-uroot", "-h127.0.0.1", "-e", f"DROP DATABASE IF EXISTS {database}"], check=False, env=env
        )
        if mode == "plain":
            py = [sys.executable, "-m"]
            steps = {
                "load": [*py, "ingest", "load", "--dataset", "tpch", "--source", str(csv), "--database", database],
                "extract": [*py, "ingest", "extract", "--dataset", "tpch", "--database", database],
                "dbt build": [str(BIN / "dbt"), "build", "--target", "local"],
                "docs": [str(BIN / "dbt"), "docs", "generate", "--static", "--target", "local"],
                "publish docs": [*py, "reports.docs_site", "publish", "--target-path", str(state / "dbt-target")],
                "report": [*py, "reports.business_report"],
            }
            for name, command in steps.items():
                times[f"plain: {name}"] = timed(command, env)
            times["plain"] = sum(times[f"plain: {name}"] for name in steps)
        else:
            airflow = str(BIN / "airflow")
            timed([airflow, "db", "migrate"], env)
            timed([airflow, "pools", "set", "spark_session", "1", "session-mode Spark"], env)
            conf = json.dumps({"source": str(csv), "database": database, "tpch_scale": scale})
            times["airflow"] = timed([airflow, "dags", "test", "lakehouse_pipeline", "-c", conf], env)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--skip-pipeline", action="store_true", help="only the parse-time comparison")
    args = parser.parse_args()
    env = {
        **os.environ,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "AIRFLOW_HOME": str(REPO / ".local" / "bench" / "airflow-parse"),
    }
    subprocess.run([str(BIN / "dbt"), "parse", "--quiet"], cwd=REPO, check=True)

    parse = Table(title="DAG parse time of dags/lakehouse_pipeline.py (best of 3 fresh processes)")
    for header in ("dbt graph from", "import Airflow (s)", "parse the DAG file (s)"):
        parse.add_column(header, justify="left" if header.startswith("dbt") else "right")
    parse_rows = bench_parse(env)
    for label, imported, parsed in parse_rows:
        parse.add_row(label, f"{imported:.2f}", f"{parsed:.2f}")
    console.print(parse)
    results: dict[str, object] = {"parse": parse_rows}

    if not args.skip_pipeline:
        table = Table(title="The whole pipeline: Airflow (dags test) vs the same steps as plain commands")
        for header in ("scale", "plain commands (s)", "through Airflow (s)", "overhead"):
            table.add_column(header, justify="right")
        for scale in args.scale:
            times = bench_pipeline(scale, env)
            results[f"sf{scale:g}"] = times
            table.add_row(
                f"{scale:g}",
                f"{times['plain']:.0f}",
                f"{times['airflow']:.0f}",
                f"{times['airflow'] / times['plain']:.2f}x",
            )
        console.print(table)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "airflow.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
