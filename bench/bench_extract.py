"""Benchmark: TPC-H lineitem from MySQL to Parquet in a local lake, side by side in one run.

Contenders, on the same MySQL table, each in a subprocess of its own so that its peak RSS
(`os.wait4`'s ru_maxrss of that child alone) is measured separately:
- ours: `ingest extract` (connectorx stream, exact types, zstd, manifest, audit, reconciliation);
- ours, pymysql: the same with the exact pure-Python reader (the fallback for wide decimals);
- pandas: `pd.read_sql` through SQLAlchemy + pymysql, then `DataFrame.to_parquet` (what many write);
- connectorx, plainly: `read_sql(return_type="arrow")`, then `pq.write_table` (the fastest peer).
Rows/s counts only the work (connect, read, write), not the interpreter's start.

Usage: .venv/bin/python bench/bench_extract.py --scale 0.1 1 [--repeat 3] [--contenders ours connectorx]
Each figure is the fastest of `--repeat` interleaved rounds; peak RSS is the largest seen.
The data is generated under .local/bench/tpch-sfS and loaded into MySQL database bench_tpch_sfS
(kept between runs; a re-run skips both when they are already there).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.core.contract import Contract, contract_path, load_contract
from ingest.core.mysql import connect, quote_identifier, scalar
from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.load import LoadOptions, load_dataset

CONTENDERS = ("ours", "ours-pymysql", "pandas", "connectorx")
LABELS = {
    "ours": "ours: ingest extract (connectorx stream)",
    "ours-pymysql": "ours: ingest extract --reader pymysql",
    "pandas": "pandas read_sql + to_parquet",
    "connectorx": "connectorx read_sql(arrow) + write_table",
}
console = Console(width=130)


@dataclass
class Result:
    contender: str
    scale: float
    rows: int
    seconds: float
    peak_rss_mb: float
    parquet_mb: float
    decimal_type: str

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# -- preparing the data (in the parent) ----------------------------------------------------


def database_name(scale: float) -> str:
    return "bench_tpch_sf" + f"{scale:g}".replace(".", "_")


def prepare(settings: MySQLSettings, contract: Contract, scale: float) -> str:
    """Generate lineitem at this scale (if missing) and load it (the loader skips unchanged files)."""
    source = REPO_ROOT / ".local" / "bench" / f"tpch-sf{scale:g}"
    if not (source / "lineitem.csv").exists():
        subprocess.run(
            [sys.executable, "-m", "ingest", "generate-tpch", "--scale", f"{scale:g}", "--out", str(source)],
            check=True,
            cwd=REPO_ROOT,
        )
    database = database_name(scale)
    with console.status(f"loading lineitem at scale {scale:g} into MySQL database {database}"):
        load_dataset(contract, source, settings, LoadOptions(database=database, tables=["lineitem"]))
    return database


# -- the contenders (each in its own subprocess) ---------------------------------------------


def run_ours(settings: MySQLSettings, database: str, out: Path, reader: str) -> int:
    from ingest.extract import ExtractOptions, extract_dataset

    contract = load_contract(contract_path("tpch"))
    options = ExtractOptions(database=database, tables=["lineitem"], reader=reader)
    (result,) = extract_dataset(contract, settings, out.resolve().as_uri(), options)
    return result.rows


def run_pandas(settings: MySQLSettings, database: str, out: Path) -> int:
    import pandas as pd
    import sqlalchemy

    url = sqlalchemy.URL.create(
        "mysql+pymysql",
        username=settings.user,
        password=settings.password or None,
        host=settings.host,
        port=settings.port,
        database=database,
    )
    engine = sqlalchemy.create_engine(url)
    frame = pd.read_sql("SELECT * FROM lineitem", engine)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out / "lineitem.parquet", compression="zstd")
    engine.dispose()
    return len(frame)


def run_connectorx(settings: MySQLSettings, database: str, out: Path) -> int:
    import connectorx
    import pyarrow.parquet as pq

    from ingest.extract.mysql_arrow import _connectorx_url

    table = connectorx.read_sql(_connectorx_url(settings, database), "SELECT * FROM lineitem", return_type="arrow")
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "lineitem.parquet")
    return int(table.num_rows)


def child(contender: str, database: str, out: Path) -> None:
    """Run one contender and print {rows, seconds} as JSON (the parent measures memory)."""
    settings = MySQLSettings.from_env()
    # Each contender's imports happen before the clock starts, and only its own (they count in RSS).
    modules = {"pandas": ["pandas", "sqlalchemy", "pyarrow.parquet"], "connectorx": ["connectorx", "pyarrow.parquet"]}
    for module in modules.get(contender, ["ingest.extract", "connectorx"]):
        importlib.import_module(module)
    started = time.perf_counter()
    if contender == "ours":
        rows = run_ours(settings, database, out, "auto")
    elif contender == "ours-pymysql":
        rows = run_ours(settings, database, out, "pymysql")
    elif contender == "pandas":
        rows = run_pandas(settings, database, out)
    else:
        rows = run_connectorx(settings, database, out)
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started}))


# -- measuring (in the parent) ---------------------------------------------------------------


def decimal_type(out: Path) -> str:
    import pyarrow.parquet as pq

    files = sorted(out.rglob("*.parquet"))
    return str(pq.read_schema(files[0]).field("l_extendedprice").type) if files else "?"


def measure(contender: str, database: str, scale: float, work: Path) -> Result:
    out = work / contender
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, __file__, "--child", contender, "--database", database, "--out", str(out)]
    with console.status(f"scale {scale:g}: {LABELS[contender]}"):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=REPO_ROOT)
        assert process.stdout is not None
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{contender} failed with exit code {process.returncode}")
    report = json.loads(output.decode().strip().splitlines()[-1])
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    result = Result(
        contender, scale, report["rows"], report["seconds"], usage.ru_maxrss / 1024, size / 2**20, decimal_type(out)
    )
    shutil.rmtree(out, ignore_errors=True)
    return result


def print_table(results: list[Result]) -> None:
    table = RichTable(title="TPC-H lineitem: MySQL -> Parquet on local disk")
    for header in ("scale", "contender", "rows", "seconds", "rows/s", "vs ours", "peak RSS", "Parquet", "decimal as"):
        table.add_column(header, justify="left" if header in ("contender", "decimal as") else "right")
    for scale in sorted({r.scale for r in results}):
        group = [r for r in results if r.scale == scale]
        ours = next(r for r in group if r.contender == "ours")
        for r in group:
            table.add_row(
                f"{scale:g}",
                LABELS[r.contender],
                f"{r.rows:,}",
                f"{r.seconds:.1f}",
                f"{r.rate:,.0f}",
                f"{r.rate / ours.rate:.2f}x",
                f"{r.peak_rss_mb:,.0f} MB",
                f"{r.parquet_mb:,.0f} MB",
                r.decimal_type,
                end_section=r is group[-1],
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the fastest of each contender is kept")
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS, default=list(CONTENDERS))
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.database, args.out)
        return
    settings = MySQLSettings.from_env()
    contract = load_contract(contract_path("tpch"))
    work = REPO_ROOT / ".local" / "bench" / "extract"
    results: list[Result] = []
    for scale in args.scale:
        database = prepare(settings, contract, scale)
        conn = connect(settings, database)
        with conn.cursor() as cursor:
            expected = int(scalar(cursor, f"SELECT COUNT(*) FROM {quote_identifier('lineitem')}"))
        conn.close()
        best: dict[str, Result] = {}
        for _ in range(args.repeat):  # interleaved rounds: a noisy neighbour hurts every contender alike
            for contender in ["ours", *[c for c in args.contenders if c != "ours"]]:
                result = measure(contender, database, scale, work)
                if result.rows != expected:
                    raise SystemExit(f"{contender} wrote {result.rows} rows, MySQL has {expected}")
                kept = best.get(contender)
                if kept is None or result.seconds < kept.seconds:
                    result.peak_rss_mb = max(result.peak_rss_mb, kept.peak_rss_mb if kept else 0.0)
                    best[contender] = result
                elif result.peak_rss_mb > kept.peak_rss_mb:
                    kept.peak_rss_mb = result.peak_rss_mb
        results.extend(best.values())
        out = REPO_ROOT / "bench" / "results" / f"extract-sf{scale:g}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        group = [asdict(r) | {"rows_per_s": round(r.rate)} for r in results if r.scale == scale]
        out.write_text(json.dumps(group, indent=2) + "\n")
    print_table(results)


if __name__ == "__main__":
    main()
