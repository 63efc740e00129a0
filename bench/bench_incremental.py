"""Benchmark: an incremental extract after 1% of lineitem changed and 0.1% was deleted, side by side
with a full snapshot, in one run; then the dbt run of fct_order_lines after it, incremental vs full.

Set-up (kept between runs in MySQL database bench_incr_sfS): TPC-H at scale S (`bench_extract`'s
data), lineitem with an `l_updated_at DATETIME(6)` column (indexed) as its cursor, the lines'
stamps spread over 1,000 hours (`l_orderkey % 1000`), so a 24 h look-back holds 2.4% of them; the lake under
.local/bench/incremental/lake holds a full snapshot of every table. Then, each run:
1. changes spread over every month: 1% of lines updated (`l_orderkey % 100 = 7`, stamped now), 0.1% deleted
   (`l_orderkey % 1000 = 3`), and, for the late-row path, 100 lines inserted stamped a week ago;
2. contenders on the same changed table, each from the same lake state:
   - ours, incremental: look-back window + key-set comparison (what `--mode incremental` does);
   - ours, incremental --no-compare-keys: the window only (blind to deletes and late inserts);
   - ours, full: a new snapshot (what a user does without incremental extracts);
   - ours, cdc: the changes from the server's binary log (when the server has one: point
     LAKEHOUSE_MYSQL_URL at the private server of `scripts/mysql-local.sh`, which logs rows);
   - ceiling: connectorx reading just the changed rows (`l_updated_at >= window`) into Parquet;
3. dbt: `dbt run --select fct_order_lines` incremental (rebuilds the changed months) vs
   `--full-refresh`, after the incremental extract. The changes touch every month here, so the
   incremental run rebuilds them all: this measures its overhead, not its gain (which grows with
   the share of months left alone).

Usage: .venv/bin/python bench/bench_incremental.py --scale 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_extract import prepare  # this script's folder is on sys.path

from ingest.core.contract import Contract, contract_path, load_contract
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.extract import ExtractOptions, extract_dataset
from ingest.extract import batches as lakebatches
from ingest.load import LoadOptions, load_dataset

console = Console(width=130)
WORK = REPO_ROOT / ".local" / "bench" / "incremental"
BASE_STAMP = dt.datetime(2024, 1, 1)


@dataclass
class Row:
    what: str
    seconds: float
    rows: int  # rows written
    deleted: int


def contract_with_stamp() -> Contract:
    """TPC-H, with lineitem's cursor an `l_updated_at` column instead of its order key."""
    data = load_contract(contract_path("tpch")).model_dump(mode="python")
    for table in data["tables"]:
        if table["name"] == "lineitem":
            table["columns"].append({"name": "l_updated_at", "type": "DATETIME(6)", "nullable": False})
            table["cursor"] = "l_updated_at"
    return Contract.model_validate(data)


def run_sql(settings: MySQLSettings, database: str, *statements: str) -> None:
    conn = connect(settings, database)
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        conn.commit()
    finally:
        conn.close()


def setup(settings: MySQLSettings, scale: float) -> str:
    """The changed-table database (a copy of the loaded TPC-H with l_updated_at), made once."""
    tpch = load_contract(contract_path("tpch"))
    source = prepare(settings, tpch, scale)  # lineitem at this scale, loaded
    csv_dir = REPO_ROOT / ".local" / "bench" / f"tpch-sf{scale:g}"
    load_dataset(tpch, csv_dir, settings, LoadOptions(database=source))  # the other tables (skipped if loaded)
    database = "bench_incr_sf" + f"{scale:g}".replace(".", "_")
    quoted, src = quote_identifier(database), quote_identifier(source)
    with console.status(f"copying TPC-H {scale:g} into {database} (lineitem with l_updated_at)"):
        run_sql(settings, source, f"DROP DATABASE IF EXISTS {quoted}", f"CREATE DATABASE {quoted}")
        for table in tpch.tables:
            name = quote_identifier(table.name)
            run_sql(settings, database, f"CREATE TABLE {name} LIKE {src}.{name}")
            if table.name == "lineitem":
                run_sql(settings, database,
                        f"ALTER TABLE {name} ADD COLUMN l_updated_at DATETIME(6) NOT NULL DEFAULT '{BASE_STAMP}', "
                        "ADD INDEX by_stamp (l_updated_at)",
                        f"INSERT INTO {name} SELECT *, TIMESTAMP '{BASE_STAMP}' + INTERVAL (l_orderkey % 1000) HOUR "
                        f"FROM {src}.{name}")  # fmt: skip
            else:
                run_sql(settings, database, f"INSERT INTO {name} SELECT * FROM {src}.{name}")
    return database


def has_binlog(settings: MySQLSettings) -> bool:
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT @@log_bin, @@binlog_format")
            row = cursor.fetchone()
    finally:
        conn.close()
    return row is not None and str(row[0]) in ("1", "ON") and str(row[1]) == "ROW"


def change(settings: MySQLSettings, database: str) -> None:
    now = BASE_STAMP + dt.timedelta(hours=1000)  # just after the newest stamp
    late = now - dt.timedelta(days=7)
    run_sql(
        settings,
        database,
        f"UPDATE lineitem SET l_quantity = l_quantity + 1, l_updated_at = '{now}' WHERE l_orderkey % 100 = 7",
        "DELETE FROM lineitem WHERE l_orderkey % 1000 = 3",
        "INSERT INTO lineitem SELECT l_orderkey, l_partkey, l_suppkey, l_linenumber + 10, l_quantity, "
        "l_extendedprice, l_discount, l_tax, l_returnflag, l_linestatus, l_shipdate, l_commitdate, "
        f"l_receiptdate, l_shipinstruct, l_shipmode, 'late', '{late}' FROM lineitem "
        "WHERE l_linenumber = 1 ORDER BY l_orderkey LIMIT 100",
    )


def extract(contract: Contract, settings: MySQLSettings, database: str, lake: Path, **options: Any) -> Row:
    started = time.perf_counter()
    (result,) = extract_dataset(
        contract, settings, lake.as_uri(), ExtractOptions(database=database, tables=["lineitem"], **options)
    )
    return Row("", time.perf_counter() - started, result.rows, result.deleted)


def ceiling(settings: MySQLSettings, database: str, out: Path) -> Row:
    import connectorx
    import pyarrow.parquet as pq

    from ingest.extract.mysql_arrow import _connectorx_url

    started = time.perf_counter()
    low = BASE_STAMP + dt.timedelta(hours=999) - dt.timedelta(hours=24)  # the watermark minus the look-back
    query = f"SELECT * FROM lineitem WHERE l_updated_at >= '{low}'"
    table = connectorx.read_sql(_connectorx_url(settings, database), query, return_type="arrow")
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "changed.parquet", compression="zstd")
    return Row("", time.perf_counter() - started, int(table.num_rows), 0)


def dbt(lake: Path, *args: str) -> float:
    env = {**os.environ, "LAKEHOUSE_LAKE_URI": str(lake), "LAKEHOUSE_LOCAL_DIR": str(WORK / "state")}
    started = time.perf_counter()
    command = [str(Path(sys.executable).parent / "dbt"), "run", "--select", "+fct_order_lines", *args]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-4000:])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    settings = MySQLSettings.from_env()
    contract = contract_with_stamp()
    database = setup(settings, args.scale)
    base = WORK / "lake-base"
    shutil.rmtree(WORK, ignore_errors=True)
    binlog = has_binlog(settings)
    with console.status("full snapshot of every table (the lake's starting state)"):
        start = ExtractOptions(database=database, workers=2, mode="cdc" if binlog else "full")
        extract_dataset(contract, settings, base.as_uri(), start)
    dbt(base)  # fct_order_lines built once, so the next run can be incremental
    change(settings, database)
    rows: list[Row] = []
    contenders: list[tuple[str, dict[str, Any], Path]] = [
        ("ours: incremental (window + key sets)", {"mode": "incremental"}, base),  # in place: dbt built there
        ("ours: incremental --no-compare-keys", {"mode": "incremental", "compare_keys": False}, WORK / "lake-1"),
        ("ours: full snapshot", {"mode": "full"}, WORK / "lake-2"),
    ]
    if binlog:
        contenders.append(("ours: cdc (binary log)", {"mode": "cdc"}, WORK / "lake-3"))
    else:
        console.print("cdc: not measured, the server has no row-based binary log (see the docstring)")
    for _, _, lake in contenders[1:]:
        shutil.copytree(base, lake)  # every contender starts from the same lake state
    for label, options, lake in contenders:
        with console.status(label):
            row = extract(contract, settings, database, lake, **options)
        row.what = label
        rows.append(row)
        if lake != base:
            shutil.rmtree(lake)
    incremental_lake = base
    with console.status("ceiling: connectorx, the changed rows only"):
        row = ceiling(settings, database, WORK / "ceiling")
    row.what = "ceiling: connectorx, changed rows only"
    rows.append(row)
    lines = lakebatches.read_current(str(incremental_lake), "tpch", "lineitem", columns=["l_orderkey"]).num_rows
    with console.status("dbt run fct_order_lines: incremental, then --full-refresh"):
        incremental_dbt = dbt(incremental_lake)
        full_dbt = dbt(incremental_lake, "--full-refresh")
    table = RichTable(title=f"TPC-H {args.scale:g} lineitem: 1% updated, 0.1% deleted, 100 late inserts")
    for header in ("contender", "seconds", "rows written", "tombstones", "vs full snapshot"):
        table.add_column(header, justify="left" if header == "contender" else "right")
    full = next(r for r in rows if r.what == "ours: full snapshot")
    for r in rows:
        table.add_row(
            r.what, f"{r.seconds:.1f}", f"{r.rows:,}", f"{r.deleted:,}", f"{full.seconds / r.seconds:.1f}x faster"
        )
    console.print(table)
    console.print(
        f"dbt run +fct_order_lines after the incremental extract: incremental {incremental_dbt:.1f} s, "
        f"--full-refresh {full_dbt:.1f} s ({full_dbt / incremental_dbt:.1f}x); lake holds {lines:,} lines"
    )
    out = REPO_ROOT / "bench" / "results" / f"incremental-sf{args.scale:g}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"extract": [r.__dict__ for r in rows], "dbt": {"incremental": incremental_dbt, "full_refresh": full_dbt}}
    out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
