"""MySQL helpers the extract tests share: create a table with its rows, run statements."""

from __future__ import annotations

from typing import Any

from ingest.core.contract import Table
from ingest.core.mysql import connect, create_table_sql, quote_identifier
from ingest.core.settings import MySQLSettings


def create_table(settings: MySQLSettings, database: str, table: Table, rows: list[tuple[Any, ...]]) -> None:
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
            cursor.execute(f"USE {quote_identifier(database)}")
            cursor.execute(create_table_sql(table))
            marks = ", ".join(["%s"] * len(table.columns))
            cursor.executemany(f"INSERT INTO {quote_identifier(table.name)} VALUES ({marks})", rows)
    finally:
        conn.close()


def run_sql(settings: MySQLSettings, database: str, *statements: str) -> None:
    conn = connect(settings, database)
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()
