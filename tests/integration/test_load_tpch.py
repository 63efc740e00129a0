"""TPC-H 0.01 into the real MySQL, checked against an independent read of the CSV files (DuckDB)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import duckdb
import pymysql
import pytest

from ingest.core.contract import Column, Contract, Table
from ingest.core.mysql import quote_identifier
from ingest.core.settings import MySQLSettings, audit_database
from ingest.load import LoadOptions, load_dataset
from tests.conftest import TPCH_ROWS, table_count


def mysql_profile(column: Column) -> str:
    """A per-column fingerprint in MySQL: sums for numbers, day numbers for dates, lengths for text."""
    name = quote_identifier(column.name)
    base = column.type.base
    if base in ("INT", "BIGINT", "DECIMAL"):
        return f"SUM({name})"
    if base == "DATE":
        return f"SUM(DATEDIFF({name}, '1970-01-01'))"
    return f"SUM(CHAR_LENGTH({name})) + 1000 * COUNT(DISTINCT {name})"


def duckdb_profile(column: Column) -> str:
    name = f'"{column.name}"'
    base = column.type.base
    if base in ("INT", "BIGINT"):
        return f"SUM(CAST({name} AS BIGINT))"
    if base == "DECIMAL":
        return f"SUM(CAST({name} AS DECIMAL(18,{column.type.scale})))"
    if base == "DATE":
        return f"SUM(CAST({name} AS DATE) - DATE '1970-01-01')"
    return f"SUM(LENGTH({name})) + 1000 * COUNT(DISTINCT {name})"


def profiles_mysql(conn: pymysql.connections.Connection, database: str, table: Table) -> list[Decimal]:  # type: ignore[type-arg]
    with conn.cursor() as cursor:
        select = ", ".join(mysql_profile(c) for c in table.columns)
        cursor.execute(f"SELECT COUNT(*), {select} FROM {quote_identifier(database)}.{quote_identifier(table.name)}")
        row = cursor.fetchone()
        assert row is not None
        return [Decimal(v) for v in row]


def profiles_duckdb(csv: Path, table: Table) -> list[Decimal]:
    select = ", ".join(duckdb_profile(c) for c in table.columns)
    row = (
        duckdb.connect()
        .execute(f"SELECT COUNT(*), {select} FROM read_csv('{csv}', header = true, all_varchar = true)")
        .fetchone()
    )
    assert row is not None
    return [Decimal(v) for v in row]


@pytest.fixture()
def loaded(tpch_dir: Path, tpch_contract: Contract, database: str, mysql_settings: MySQLSettings) -> str:
    reports = load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=database))
    assert {r.name: r.total("rows_loaded") for r in reports} == TPCH_ROWS
    assert all(r.total("rows_rejected") == 0 for r in reports)
    return database


def test_tpch_loads_every_row_and_value(
    loaded: str,
    tpch_dir: Path,
    tpch_contract: Contract,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    assert sum(table_count(mysql, loaded, t) for t in TPCH_ROWS) == 86_805
    for table in tpch_contract.tables:
        expected = profiles_duckdb(tpch_dir / f"{table.name}.csv", table)
        assert profiles_mysql(mysql, loaded, table) == expected, table.name


def test_tables_have_the_contract_types_and_keys(loaded: str, mysql: pymysql.connections.Connection) -> None:  # type: ignore[type-arg]
    with mysql.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, column_type, is_nullable, column_key FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = 'lineitem' ORDER BY ordinal_position",
            (loaded,),
        )
        columns = {name: (kind, nullable, key) for name, kind, nullable, key in cursor.fetchall()}
    assert columns["l_extendedprice"] == ("decimal(15,2)", "NO", "")
    assert columns["l_shipdate"] == ("date", "NO", "")
    assert columns["l_orderkey"] == ("bigint(20)", "NO", "PRI")
    assert columns["l_linenumber"][2] == "PRI"


def test_audit_records_every_file_and_a_second_run_changes_nothing(
    loaded: str,
    tpch_dir: Path,
    tpch_contract: Contract,
    mysql_settings: MySQLSettings,
    mysql: pymysql.connections.Connection,  # type: ignore[type-arg]
) -> None:
    audit = f"{quote_identifier(audit_database())}.file_loads"
    with mysql.cursor() as cursor:
        cursor.execute(
            f"SELECT table_name, file_sha256, file_size, rows_read, rows_loaded, rows_rejected, status "
            f"FROM {audit} WHERE database_name = %s",
            (loaded,),
        )
        rows = {r[0]: r[1:] for r in cursor.fetchall()}
        cursor.execute(f"CHECKSUM TABLE {quote_identifier(loaded)}.lineitem")
        before = cursor.fetchall()
    assert set(rows) == set(TPCH_ROWS)
    for table, (sha, size, read, loaded_rows, rejected, status) in rows.items():
        csv = tpch_dir / f"{table}.csv"
        assert sha == hashlib.sha256(csv.read_bytes()).hexdigest()
        assert size == csv.stat().st_size
        assert (read, loaded_rows, rejected, status) == (TPCH_ROWS[table], TPCH_ROWS[table], 0, "succeeded")

    again = load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=loaded))
    assert all(r.skipped for r in again)
    with mysql.cursor() as cursor:
        cursor.execute(
            f"SELECT status, COUNT(*) FROM {audit} WHERE database_name = %s GROUP BY status ORDER BY status", (loaded,)
        )
        assert cursor.fetchall() == (("skipped", 8), ("succeeded", 8))
        cursor.execute(f"CHECKSUM TABLE {quote_identifier(loaded)}.lineitem")
        assert cursor.fetchall() == before

    forced = load_dataset(tpch_contract, tpch_dir, mysql_settings, LoadOptions(database=loaded, force=True))
    assert {r.name: r.total("rows_loaded") for r in forced} == TPCH_ROWS
    assert table_count(mysql, loaded, "lineitem") == TPCH_ROWS["lineitem"]
