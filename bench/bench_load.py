"""Benchmark: loading TPC-H CSV files into MySQL, side by side in one run.

Contenders, on the same files and the same server:
- ours: `ingest load`: the strict scan, every value checked, the canonical stream, staging, atomic
  publish and audit;
- ours, with 1% of lineitem's records damaged in five ways (each quarantined with line and reason);
- ceiling: one plain LOAD DATA LOCAL INFILE per file into the same schema, nothing else;
- what a user would write instead: pandas `read_csv` + `to_sql`, and pymysql `executemany` with
  batches of 10,000 rows, on a sample of lineitem (they are too slow for the whole table).

Usage: .venv/bin/python bench/bench_load.py --scale 1      (make bench)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pymysql
import sqlalchemy
from rich.console import Console
from rich.table import Table as RichTable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.core.contract import Contract, Table, contract_path, load_contract
from ingest.core.mysql import connect, create_table_sql, quote_identifier
from ingest.core.settings import REPO_ROOT, MySQLSettings
from ingest.load import LoadOptions, load_dataset

SAMPLE_ROWS = 100_000
console = Console(width=120)


@dataclass
class Result:
    contender: str
    scope: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def generate(scale: float) -> Path:
    out = REPO_ROOT / ".local" / "bench" / f"tpch-sf{scale:g}"
    if not (out / "lineitem.csv").exists():
        tool = Path(sys.executable).parent / "tpchgen-cli"
        subprocess.run([str(tool), "csv", "-s", f"{scale:g}", "--output-dir", str(out)], check=True)
    return out


def count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1


def fresh_database(settings: MySQLSettings, name: str) -> None:
    conn = connect(settings)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote_identifier(name)}")
        cursor.execute(f"CREATE DATABASE {quote_identifier(name)}")
    conn.close()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def ours(
    settings: MySQLSettings, contract: Contract, source: Path, tables: list[str] | None, max_bad_rows: int = 0
) -> float:
    fresh_database(settings, "bench_ours")
    options = LoadOptions(database="bench_ours", tables=tables, force=True, max_bad_rows=max_bad_rows)
    return timed(lambda: load_dataset(contract, source, settings, options))


def ceiling(settings: MySQLSettings, tables: list[Table], source: Path) -> float:
    """Plain LOAD DATA, the fastest a MySQL server takes these files."""
    fresh_database(settings, "bench_ceiling")
    # Plain PyMySQL: the project's own connections send MySQL only the loader's stream.
    conn = pymysql.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password,
        unix_socket=settings.unix_socket,
        database="bench_ceiling",
        local_infile=True,
        autocommit=True,
    )
    started = time.perf_counter()
    with conn.cursor() as cursor:
        for table in tables:
            cursor.execute(create_table_sql(table))
            cursor.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote_identifier(table.name)} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
                "IGNORE 1 LINES",
                (str(source / f"{table.name}.csv"),),
            )
    conn.close()
    return time.perf_counter() - started


BAD_KINDS: list[Callable[[list[bytes]], list[bytes]]] = [
    lambda f: [*f[:4], b"not-a-number", *f[5:]],  # a value that is not a decimal
    lambda f: [*f[:10], b"98-01-01", *f[11:]],  # a date MySQL would take as 1998-01-01
    lambda f: f[:-1],  # a field missing
    lambda f: [*f[:15], f[15][:-1] + b'x"y"'],  # text after a closing quote
    lambda f: f,  # a duplicate of the record before (same key)
]


def with_bad_rows(source: Path, share: float = 0.01) -> tuple[Path, int]:
    """lineitem with `share` of its records damaged, five kinds in turn (values, lenient dates,
    missing fields, stray quotes, duplicate keys): the loader must quarantine each one."""
    dirty = source.parent / f"{source.name}-dirty"
    dirty.mkdir(exist_ok=True)
    target = dirty / "lineitem.csv"
    every = round(1 / share)
    bad = 0
    with (source / "lineitem.csv").open("rb") as src, target.open("wb") as out:
        out.write(src.readline())
        previous = b""
        for number, line in enumerate(src):
            if number % every == every - 1:
                kind = BAD_KINDS[(number // every) % len(BAD_KINDS)]
                damaged = b",".join(kind(line.rstrip(b"\n").split(b","))) + b"\n"
                line = previous if kind is BAD_KINDS[-1] else damaged  # a duplicate repeats the key before
                bad += 1
            out.write(line)
            previous = line
    return dirty, bad


def pandas_to_sql(settings: MySQLSettings, table: Table, source: Path) -> float:
    fresh_database(settings, "bench_pandas")
    url = sqlalchemy.URL.create(
        "mysql+pymysql",
        username=settings.user,
        password=settings.password or None,
        host=settings.host,
        port=settings.port,
        database="bench_pandas",
    )
    engine = sqlalchemy.create_engine(url)
    conn = connect(settings, "bench_pandas")
    with conn.cursor() as cursor:
        cursor.execute(create_table_sql(table))
    conn.close()

    def load() -> None:
        frame = pd.read_csv(source / f"{table.name}.csv", nrows=SAMPLE_ROWS)
        frame.to_sql(table.name, engine, if_exists="append", index=False, chunksize=10_000)

    seconds = timed(load)
    engine.dispose()
    return seconds


def executemany(settings: MySQLSettings, table: Table, source: Path) -> float:
    import csv

    fresh_database(settings, "bench_executemany")
    conn = connect(settings, "bench_executemany")
    with conn.cursor() as cursor:
        cursor.execute(create_table_sql(table))
    placeholders = ", ".join(["%s"] * len(table.columns))
    sql = f"INSERT INTO {quote_identifier(table.name)} VALUES ({placeholders})"

    def load() -> None:
        with (source / f"{table.name}.csv").open(newline="") as handle, conn.cursor() as cursor:
            reader = csv.reader(handle)
            next(reader)
            batch: list[list[str]] = []
            for number, row in enumerate(reader):
                if number >= SAMPLE_ROWS:
                    break
                batch.append(row)
                if len(batch) == 10_000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)

    seconds = timed(load)
    conn.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    settings = MySQLSettings.from_env()
    contract = load_contract(contract_path("tpch"))
    source = generate(args.scale)
    lineitem = contract.table("lineitem")
    total_rows = sum(count_rows(source / f"{t.name}.csv") for t in contract.tables)
    lineitem_rows = count_rows(source / "lineitem.csv")
    sample = min(SAMPLE_ROWS, lineitem_rows)

    results: list[Result] = []
    with console.status("ceiling, all tables"):
        results.append(
            Result("ceiling: plain LOAD DATA", "all 8 tables", total_rows, ceiling(settings, contract.tables, source))
        )
    with console.status("ours, all tables"):
        results.append(Result("ours: ingest load", "all 8 tables", total_rows, ours(settings, contract, source, None)))
    with console.status("ceiling, lineitem"):
        results.append(
            Result("ceiling: plain LOAD DATA", "lineitem", lineitem_rows, ceiling(settings, [lineitem], source))
        )
    with console.status("ours, lineitem"):
        results.append(
            Result("ours: ingest load", "lineitem", lineitem_rows, ours(settings, contract, source, ["lineitem"]))
        )
    with console.status("ours, lineitem with 1% bad rows"):
        dirty, bad = with_bad_rows(source)
        seconds = ours(settings, contract, dirty, ["lineitem"], max_bad_rows=bad)
        results.append(Result(f"ours, 1% bad rows ({bad:,} quarantined)", "lineitem", lineitem_rows, seconds))
    with console.status("pandas to_sql"):
        results.append(
            Result(
                "pandas read_csv + to_sql",
                f"lineitem, first {sample:,}",
                sample,
                pandas_to_sql(settings, lineitem, source),
            )
        )
    with console.status("pymysql executemany"):
        results.append(
            Result(
                "pymysql executemany", f"lineitem, first {sample:,}", sample, executemany(settings, lineitem, source)
            )
        )

    ceilings = {r.scope: r.rate for r in results if r.contender.startswith("ceiling")}
    lineitem_ceiling = ceilings["lineitem"]
    table = RichTable(
        title=f"TPC-H scale {args.scale:g} -> MySQL ({total_rows:,} rows in all, lineitem {lineitem_rows:,})"
    )
    for header in ("contender", "scope", "rows", "seconds", "rows/s", "vs ceiling"):
        table.add_column(header, justify="left" if header in ("contender", "scope") else "right")
    for r in results:
        reference = ceilings.get(r.scope, lineitem_ceiling)
        table.add_row(
            r.contender, r.scope, f"{r.rows:,}", f"{r.seconds:.1f}", f"{r.rate:,.0f}", f"{r.rate / reference:.2f}x"
        )
    console.print(table)
    out = REPO_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"load-sf{args.scale:g}.json").write_text(
        json.dumps([{**r.__dict__, "rows_per_second": r.rate} for r in results], indent=2)
    )


if __name__ == "__main__":
    main()
