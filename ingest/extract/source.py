"""The MySQL side of an extract that reads no rows: the table checked against the contract, the
table's extract lock, MAX(cursor) for the batch's upper watermark, and COUNT(*) over the batch's
range to reconcile the rows read with."""

from __future__ import annotations

import hashlib

from pymysql.connections import Connection

from ingest.core.contract import Table
from ingest.core.lake import Lake
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.core.types import TYPES
from ingest.extract.errors import ExtractError
from ingest.extract.mysql_arrow import Condition


def check_source(conn: Connection, database: str, table: Table) -> None:  # type: ignore[type-arg]
    """The MySQL table exists and its columns fit the contract exactly, or say what is wrong."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale, column_type "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (database, table.name),
        )
        found = {row[0]: row[1:] for row in cursor.fetchall()}
    if not found:
        raise ExtractError(
            f"MySQL database {database} has no table {table.name}; load it first "
            f"(`python -m ingest load ...`) or pick the database with --database"
        )
    for column in table.columns:
        if column.name not in found:
            raise ExtractError(f"MySQL table {database}.{table.name} has no column {column.name} (contract)")
        data_type, precision, scale, column_type = found[column.name]
        base = column.type.base
        wrong = data_type.lower() not in TYPES[base].stored_as or "unsigned" in str(column_type).lower()
        if base == "DECIMAL":
            wrong = wrong or (precision, scale) != (column.type.precision, column.type.scale)
        if wrong:
            raise ExtractError(
                f"MySQL column {database}.{table.name}.{column.name} is {column_type}, "
                f"but the contract says {column.type}; fix the contract or reload the table"
            )
    _check_key(conn, database, table)


def _check_key(conn: Connection, database: str, table: Table) -> None:  # type: ignore[type-arg]
    """The contract's primary key is MySQL's primary key, or a unique key of the same columns:
    readers keep one row per key, so a key the rows may repeat would hide rows."""
    if not table.primary_key:
        return
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT index_name, column_name, nullable FROM information_schema.statistics "
            "WHERE table_schema = %s AND table_name = %s AND non_unique = 0 ORDER BY index_name, seq_in_index",
            (database, table.name),
        )
        unique: dict[str, list[str]] = {}
        nullable: set[str] = set()
        for index, column, can_be_null in cursor.fetchall():
            unique.setdefault(str(index), []).append(str(column))
            if can_be_null == "YES":
                nullable.add(str(index))
    wanted = set(table.primary_key)
    if any(set(columns) == wanted and index not in nullable for index, columns in unique.items()):
        return
    held = ", ".join(unique.get("PRIMARY", [])) or "none"
    raise ExtractError(
        f"the contract's primary key of {database}.{table.name} ({', '.join(table.primary_key)}) is not MySQL's "
        f"primary key ({held}) nor a unique key of the same columns, so rows may repeat it; fix the contract's "
        "primary_key (or load the table under it)"
    )


def lock_table(conn: Connection, lake: Lake, dataset: str, table: str) -> None:  # type: ignore[type-arg]
    """One extract per lake, dataset and table at a time (the lock dies with the connection)."""
    digest = hashlib.sha1(f"{lake.uri}|{dataset}|{table}".encode()).hexdigest()
    with conn.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, 0)", (f"lakehouse_extract.{digest}",))
        row = cursor.fetchone()
    if not row or row[0] != 1:
        raise ExtractError(f"another extract of {dataset}.{table} into {lake.uri} is running; wait for it to finish")


def high_watermark(conn: Connection, database: str, table: Table) -> object | None:  # type: ignore[type-arg]
    """MAX(cursor) now: the batch's inclusive upper watermark (None: an empty table)."""
    if table.cursor is None:
        return None
    source = f"{quote_identifier(database)}.{quote_identifier(table.name)}"
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT MAX({quote_identifier(table.cursor)}) FROM {source}")
        row = cursor.fetchone()
    return row[0] if row else None


def count_rows(settings: MySQLSettings, database: str, table: Table, condition: Condition) -> int:
    """COUNT(*) over a batch's range, on a connection of its own: it runs beside the read, so the
    reconciliation costs no extra wall time (a full scan of a large table takes seconds)."""
    where, params = condition.for_pymysql()
    conn = connect(settings)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote_identifier(database)}.{quote_identifier(table.name)}"
                + (f" WHERE {where}" if where else ""),
                params,
            )
            row = cursor.fetchone()
    finally:
        conn.close()
    assert row is not None
    return int(row[0])
