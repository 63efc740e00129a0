"""Benchmark: the dbt project on Spark at TPC-H SF0.1 and SF1, and DuckDB on the same Parquet, side by side.

For every scale (one run measures all of them, so the growth factor compares like with like):
- prepare: CSV files under .local/bench/tpch-sfS (generated when missing, as bench_load.py),
  loaded into MySQL database bench_tpch_sfS (the loader skips files it already loaded) and
  extracted into a private lake .local/bench/lake-sfS (kept when MySQL did not change);
- Spark: a private Thrift server (scripts/spark-thrift.sh; its start is timed on its own), then
  `dbt build --target thrift` from scratch, then `dbt run --select reports` (the 22 rpt_ models over
  the existing marts); then `dbt build --target local` (in-process Spark session) from scratch;
- DuckDB: the specification's 22 queries (tests/tpch_reference) over views on the lake's raw
  extract files, and the 22 compiled rpt_ models' SQL over views on the marts' Parquet folders
  (the same SQL Spark ran, on the same files: the like-for-like comparison).
The Spark reports are then checked against DuckDB's answers on the raw files.

Every figure is a wall-clock time of one run (subprocesses included: dbt's own start and parse
count, as an analyst sees them); the dbt rows also break down by node from run_results.json.
The machine is small (2 cores) and shared: figures are noisy, re-run a step that looks off.

Usage: .venv/bin/python bench/bench_dbt.py --scale 0.1 1 [--steps thrift local duckdb]
Results: bench/results/dbt-sfS.json (one file per scale).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table as RichTable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.core.contract import Contract, contract_path, load_contract
from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.extract import ExtractOptions, extract_dataset
from ingest.load import LoadOptions, load_dataset
from tests.tpch_reference import REPORTS, compare, reference_sql, report_select

DBT = str(Path(sys.executable).parent / "dbt")
THRIFT_SCRIPT = str(REPO_ROOT / "scripts" / "spark-thrift.sh")
BENCH_DIR = REPO_ROOT / ".local" / "bench"
STEPS = ("thrift", "local", "duckdb")
console = Console(width=150)


@dataclass
class Measure:
    """One timed step at one scale."""

    key: str
    step: str
    engine: str
    seconds: float | None  # None: not run (reused, skipped or failed)
    note: str = ""
    breakdown: dict[str, float] = field(default_factory=dict)  # node-seconds by kind (dbt steps)
    slowest: list[tuple[str, float]] = field(default_factory=list)
    per_query: dict[str, float] = field(default_factory=dict)  # DuckDB steps


# -- helpers -----------------------------------------------------------------------------------


def scale_label(scale: float) -> str:
    return f"{scale:g}"


def database_name(scale: float) -> str:
    return "bench_tpch_sf" + scale_label(scale).replace(".", "_")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


class Workspace:
    """The private folders of one scale: lake, Spark metastores, dbt artifacts."""

    def __init__(self, scale: float) -> None:
        label = scale_label(scale)
        self.scale = scale
        self.csv_dir = BENCH_DIR / f"tpch-sf{label}"
        self.lake = BENCH_DIR / f"lake-sf{label}"
        self.root = BENCH_DIR / f"dbt-sf{label}"  # LAKEHOUSE_LOCAL_DIR: spark/ and spark-thrift/
        self.target = self.root / "dbt-target"
        self.env = {
            **os.environ,
            "LAKEHOUSE_LOCAL_DIR": str(self.root),
            "LAKEHOUSE_LAKE_URI": self.lake.resolve().as_uri(),
            "DBT_TARGET_PATH": str(self.target),
            "DBT_LOG_PATH": str(self.root / "dbt-logs"),
            "DO_NOT_TRACK": "1",
            "SPARK_THRIFT_PORT": str(free_port()),
            "SPARK_THRIFT_UI_PORT": str(free_port()),
        }

    def run(self, *command: str, timeout: int = 3600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def dbt(self, *args: str) -> tuple[float, dict[str, Any]]:
        """Run one dbt command; its wall-clock seconds and its run_results.json."""
        seconds, result = timed(lambda: self.run(DBT, *args))
        assert isinstance(result, subprocess.CompletedProcess)
        if result.returncode != 0:
            raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout[-5000:]}\n{result.stderr[-2000:]}")
        results: dict[str, Any] = json.loads((self.target / "run_results.json").read_text(encoding="utf-8"))
        return seconds, results

    def fresh_build(self) -> None:
        """Drop the dbt-built Parquet so that a build starts from nothing."""
        shutil.rmtree(self.lake / "lakehouse", ignore_errors=True)


# -- prepare: CSV -> MySQL -> lake -------------------------------------------------------------


def committed_files(lake: Path, table: str) -> list[Path]:
    """The Parquet files of the latest committed full batch of a raw table (what a reader sees)."""
    batches = []
    for manifest_path in (lake / "raw" / "tpch" / table).glob("batch=*/manifest.json"):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("mode") == "full":
            batches.append((manifest["batch"], manifest_path.parent, [f["path"] for f in manifest["files"]]))
    if not batches:
        return []
    _, folder, files = max(batches)
    return [folder / name for name in files]


def prepare(ws: Workspace, settings: MySQLSettings, contract: Contract) -> list[Measure]:
    label = scale_label(ws.scale)
    measures: list[Measure] = []
    if (ws.csv_dir / "lineitem.csv").exists() and all((ws.csv_dir / f"{t.name}.csv").exists() for t in contract.tables):
        measures.append(Measure("generate", "prepare: generate CSV", "tpchgen", None, "reused"))
    else:
        with console.status(f"SF{label}: generating TPC-H CSV"):
            seconds, _ = timed(
                lambda: subprocess.run(
                    [sys.executable, "-m", "ingest", "generate-tpch", "--scale", label, "--out", str(ws.csv_dir)],
                    check=True,
                    cwd=REPO_ROOT,
                    capture_output=True,
                )
            )
        measures.append(Measure("generate", "prepare: generate CSV", "tpchgen", seconds))

    database = database_name(ws.scale)
    with console.status(f"SF{label}: loading into MySQL database {database}"):
        seconds, reports = timed(
            lambda: load_dataset(contract, ws.csv_dir, settings, LoadOptions(database=database, lock_timeout=600))
        )
    assert isinstance(reports, list)
    loaded = [r.name for r in reports if not r.skipped]
    note = f"loaded {', '.join(loaded)}" if loaded else "all files already loaded (checksums)"
    measures.append(Measure("load", "prepare: load MySQL", "ingest load", seconds if loaded else None, note))

    if loaded or not all(committed_files(ws.lake, t.name) for t in contract.tables):
        with console.status(f"SF{label}: extracting into {ws.lake}"):
            options = ExtractOptions(database=database, keep=1)
            seconds, _ = timed(lambda: extract_dataset(contract, settings, ws.lake.resolve().as_uri(), options))
        measures.append(Measure("extract", "prepare: extract to lake", "ingest extract", seconds))
    else:
        measures.append(Measure("extract", "prepare: extract to lake", "ingest extract", None, "reused"))
    return measures


# -- Spark through dbt -------------------------------------------------------------------------


def node_kind(node_id: str) -> str:
    kind, _, rest = node_id.partition(".")
    name = rest.split(".")[-1] if kind != "test" else rest
    if kind == "model":
        for prefix, label in (("rpt_", "reports"), ("stg_", "staging"), ("dim_", "marts"), ("fct_", "marts")):
            if name.startswith(prefix):
                return label
        return "models"
    return {"test": "data tests", "unit_test": "unit tests"}.get(kind, kind)


def dbt_measure(key: str, step: str, engine: str, seconds: float, results: dict[str, Any], note: str = "") -> Measure:
    breakdown: dict[str, float] = {}
    nodes: list[tuple[str, float]] = []
    for result in results["results"]:
        kind = node_kind(result["unique_id"])
        breakdown[kind] = breakdown.get(kind, 0.0) + float(result["execution_time"])
        parts = result["unique_id"].split(".")  # test.<project>.<name>.<hash>: keep the name
        name = parts[2] if parts[0] == "test" and len(parts) > 3 else parts[-1]
        nodes.append((name[:40], round(float(result["execution_time"]), 2)))
    breakdown = {kind: round(value, 2) for kind, value in sorted(breakdown.items()) if value >= 0.05}
    breakdown["dbt elapsed"] = round(float(results.get("elapsed_time", 0.0)), 2)
    nodes.sort(key=lambda item: -item[1])
    statuses = {r["status"] for r in results["results"]}
    if statuses - {"success", "pass", "no-op"}:
        note = (note + f" statuses: {sorted(statuses)}").strip()
    return Measure(key, step, engine, seconds, note, breakdown, nodes[:5])


def spark_thrift(ws: Workspace) -> list[Measure]:
    label = scale_label(ws.scale)
    measures: list[Measure] = []
    shutil.rmtree(ws.root / "spark-thrift", ignore_errors=True)  # a fresh metastore: a build from scratch
    with console.status(f"SF{label}: starting a Spark Thrift server on port {ws.env['SPARK_THRIFT_PORT']}"):
        seconds, started = timed(lambda: ws.run(THRIFT_SCRIPT, "start", timeout=300))
    assert isinstance(started, subprocess.CompletedProcess)
    if started.returncode != 0:
        raise RuntimeError(f"the Thrift server did not start:\n{started.stdout}\n{started.stderr}")
    measures.append(Measure("thrift_start", "Thrift server start (until its port answers)", "spark thrift", seconds))
    try:
        ws.fresh_build()
        with console.status(f"SF{label}: dbt build --target thrift"):
            seconds, results = ws.dbt("build", "--target", "thrift")
        measures.append(dbt_measure("build_thrift", "dbt build (from scratch)", "spark thrift", seconds, results))
        with console.status(f"SF{label}: dbt run --select reports --target thrift"):
            seconds, results = ws.dbt("run", "--target", "thrift", "--select", "reports")
        measure = dbt_measure("reports_thrift", "dbt run --select reports (22)", "spark thrift", seconds, results)
        measures.append(measure)
        inside = measure.breakdown.get("reports", 0.0)
        measures.append(Measure("reports_thrift_nodes", "22 reports: node-seconds (2 threads)", "spark thrift", inside))
    finally:
        ws.run(THRIFT_SCRIPT, "stop", timeout=120)
    return measures


def spark_local(ws: Workspace) -> list[Measure]:
    shutil.rmtree(ws.root / "spark", ignore_errors=True)
    ws.fresh_build()
    with console.status(f"SF{scale_label(ws.scale)}: dbt build --target local"):
        seconds, results = ws.dbt("build", "--target", "local")
    return [dbt_measure("build_local", "dbt build (from scratch)", "spark session", seconds, results)]


# -- DuckDB ------------------------------------------------------------------------------------


def duckdb_raw(ws: Workspace, contract: Contract) -> tuple[Measure, dict[int, list[tuple[Any, ...]]]]:
    """The specification's 22 queries over views on the raw extract's Parquet files."""
    answers: dict[int, list[tuple[Any, ...]]] = {}
    per_query: dict[str, float] = {}
    started = time.perf_counter()
    with duckdb.connect() as con:
        for table in contract.tables:
            files = [str(p) for p in committed_files(ws.lake, table.name)]
            con.execute(f"create view {table.name} as select * from read_parquet({files!r})")
        for query in sorted(REPORTS):
            clock = time.perf_counter()
            answers[query] = con.execute(reference_sql(query)).fetchall()
            per_query[f"q{query:02d}"] = round(time.perf_counter() - clock, 3)
    seconds = time.perf_counter() - started
    slowest = sorted(per_query.items(), key=lambda item: -item[1])[:5]
    measure = Measure("duckdb_raw", "22 TPC-H queries (reference SQL)", "duckdb on raw extract", seconds)
    measure.per_query, measure.slowest = per_query, slowest
    return measure, answers


def duckdb_marts(ws: Workspace) -> Measure:
    """The compiled rpt_ models (the SQL Spark ran) over views on the marts' Parquet folders."""
    compiled = ws.target / "compiled" / "lakehouse" / "dbt_project" / "models" / "reports"
    sqls = {model: (compiled / f"{model}.sql").read_text(encoding="utf-8") for model in REPORTS.values()}
    relations = sorted({m for sql in sqls.values() for m in re.findall(r"\b(lakehouse_marts)\.(\w+)", sql)})
    per_query: dict[str, float] = {}
    failed: list[str] = []
    started = time.perf_counter()
    with duckdb.connect() as con:
        con.execute("create schema lakehouse_marts")
        for schema, model in relations:
            folder = ws.lake / "lakehouse" / model
            pattern = str(folder / ("**/*.parquet" if any(folder.glob("*=*")) else "*.parquet"))
            source = f"read_parquet('{pattern}', hive_partitioning = true)"
            con.execute(f"create view {schema}.{model} as select * from {source}")
        for query, model in sorted(REPORTS.items()):
            clock = time.perf_counter()
            try:
                con.execute(sqls[model]).fetchall()
            except duckdb.Error as error:
                failed.append(f"Q{query}: {str(error).splitlines()[0][:80]}")
            per_query[f"q{query:02d}"] = round(time.perf_counter() - clock, 3)
    seconds = time.perf_counter() - started
    measure = Measure(
        "duckdb_marts", "22 rpt_ models' compiled SQL", "duckdb on marts Parquet", seconds, "; ".join(failed)
    )
    measure.per_query = per_query
    measure.slowest = sorted(per_query.items(), key=lambda item: -item[1])[:5]
    return measure


def check_reports(ws: Workspace, answers: dict[int, list[tuple[Any, ...]]]) -> list[str]:
    """Differences between the Spark-built reports (Parquet) and DuckDB's answers on the raw files."""
    problems: list[str] = []
    with duckdb.connect() as con:
        for query, model in sorted(REPORTS.items()):
            folder = ws.lake / "lakehouse" / model
            rows = con.execute(report_select(model, f"read_parquet('{folder}/*.parquet')")).fetchall()
            problems.extend(f"Q{query} {model}: {p}" for p in compare(answers[query], rows, max_messages=3))
    return problems


# -- reporting ---------------------------------------------------------------------------------


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:,.1f}"


def print_tables(scales: Sequence[float], by_scale: dict[float, dict[str, Measure]]) -> None:
    keys: list[str] = []
    for scale in scales:
        keys.extend(k for k in by_scale[scale] if k not in keys)
    first, last = scales[0], scales[-1]
    table = RichTable(title="dbt on Spark vs DuckDB, TPC-H (seconds, wall clock; 2 shared cores: noisy)")
    table.add_column("step")
    table.add_column("target / engine")
    for scale in scales:
        table.add_column(f"SF{scale_label(scale)} s", justify="right")
    if len(scales) > 1:
        table.add_column(f"SF{scale_label(last)}/SF{scale_label(first)}", justify="right")
    for reference in ("duckdb_raw", "duckdb_marts"):
        table.add_column("÷ DuckDB " + reference.split("_")[1] + " (" + " / ".join(map(scale_label, scales)) + ")")
    spark_report_keys = {"reports_thrift", "reports_thrift_nodes"}
    for key in keys:
        measures = [by_scale[s].get(key) for s in scales]
        sample = next(m for m in measures if m is not None)
        cells = [sample.step, sample.engine]
        cells += [fmt(m.seconds) if m is not None else "-" for m in measures]
        if len(scales) > 1:
            a, b = measures[0], measures[-1]
            growth = "-"
            if a is not None and b is not None and a.seconds and b.seconds:
                growth = f"{b.seconds / a.seconds:.1f}x"
            cells.append(growth)
        for reference in ("duckdb_raw", "duckdb_marts"):
            ratios = []
            for scale, measure in zip(scales, measures, strict=True):
                base = by_scale[scale].get(reference)
                if key in spark_report_keys and measure and measure.seconds and base and base.seconds:
                    ratios.append(f"{measure.seconds / base.seconds:.0f}x")
                else:
                    ratios.append("-")
            cells.append(" / ".join(ratios) if any(r != "-" for r in ratios) else "")
        table.add_row(*cells)
    console.print(table)

    detail = RichTable(title="Where the time goes: node-seconds from run_results.json, and the slowest nodes")
    for header in ("scale", "step", "by kind (node-seconds)", "slowest"):
        detail.add_column(header)
    for scale in scales:
        for measure in by_scale[scale].values():
            if not measure.breakdown and not measure.per_query:
                continue
            kinds = ", ".join(f"{k} {v:.1f}" for k, v in measure.breakdown.items())
            slowest = ", ".join(f"{name} {secs:.1f}" for name, secs in measure.slowest)
            detail.add_row(scale_label(scale), f"{measure.step} [{measure.engine}]", kinds, slowest)
    console.print(detail)
    for scale in scales:
        for measure in by_scale[scale].values():
            if measure.note:
                console.print(f"SF{scale_label(scale)} {measure.step} [{measure.engine}]: {measure.note}")


def write_results(scale: float, measures: dict[str, Measure]) -> None:
    """bench/results/dbt-sfS.json; a partial run (--steps) replaces only the steps it measured."""
    out = REPO_ROOT / "bench" / "results" / f"dbt-sf{scale_label(scale)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    kept: dict[str, Any] = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    for key, measure in measures.items():
        if measure.seconds is not None or kept.get(key, {}).get("seconds") is None:
            kept[key] = asdict(measure)  # a reused step keeps the figure measured when it ran
    out.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS), help="what to measure")
    args = parser.parse_args()
    settings = MySQLSettings.from_env()
    contract = load_contract(contract_path("tpch"))
    scales: list[float] = sorted(args.scale)
    by_scale: dict[float, dict[str, Measure]] = {}
    for scale in scales:
        ws = Workspace(scale)
        ws.root.mkdir(parents=True, exist_ok=True)
        measures = {m.key: m for m in prepare(ws, settings, contract)}
        answers: dict[int, list[tuple[Any, ...]]] | None = None
        if "thrift" in args.steps:
            measures.update({m.key: m for m in spark_thrift(ws)})
        if "duckdb" in args.steps:
            with console.status(f"SF{scale_label(scale)}: DuckDB, 22 queries on the raw extract"):
                raw, answers = duckdb_raw(ws, contract)
            measures[raw.key] = raw
            if (ws.target / "compiled").is_dir() and (ws.lake / "lakehouse").is_dir():
                with console.status(f"SF{scale_label(scale)}: DuckDB, 22 compiled reports on the marts"):
                    marts = duckdb_marts(ws)
                measures[marts.key] = marts
        if "local" in args.steps:
            measures.update({m.key: m for m in spark_local(ws)})
        if answers is not None and (ws.lake / "lakehouse" / REPORTS[1]).is_dir():
            problems = check_reports(ws, answers)
            note = "all 22 equal DuckDB's answers" if not problems else f"{len(problems)} differences: {problems[:3]}"
            measures["check"] = Measure("check", "check: Spark reports vs DuckDB raw", "", None, note)
        by_scale[scale] = measures
        write_results(scale, measures)
    print_tables(scales, by_scale)


if __name__ == "__main__":
    main()
