"""Connections to MySQL and the few SQL helpers every hop shares."""

from __future__ import annotations

import re
from typing import Any

import pymysql
import pymysql.cursors

from ingest.contract import IDENTIFIER, SqlType, Table
from ingest.settings import MySQLSettings

# Strict: a value that does not fit is an error, never a silent truncation or a zero date.
STRICT_SQL_MODE = "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"


class MySQLUnavailable(RuntimeError):
    """No MySQL server answers at the configured address."""


def quote_identifier(name: str) -> str:
    """Backtick-quote an identifier that has already passed the contract's validation."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"refusing unsafe identifier {name!r}")
    return f"`{name}`"


def connect(
    settings: MySQLSettings,
    database: str | None = None,
    *,
    local_infile: bool = False,
    cursorclass: type[pymysql.cursors.Cursor] = pymysql.cursors.Cursor,
) -> pymysql.connections.Connection:  # type: ignore[type-arg]
    """Open a connection in strict mode. `local_infile` is enabled only where a load needs it."""
    try:
        connection = pymysql.connect(
            host=settings.host,
            port=settings.port,
            user=settings.user,
            password=settings.password,
            unix_socket=settings.unix_socket,
            database=database,
            charset="utf8mb4",
            local_infile=local_infile,
            autocommit=True,
            connect_timeout=10,
            cursorclass=cursorclass,
        )
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else None
        if code in (2002, 2003, 2013):
            raise MySQLUnavailable(
                f"cannot reach MySQL at {settings} ({exc.args[-1]}). Start the project's private "
                "server with `scripts/mysql-local.sh start`, or point LAKEHOUSE_MYSQL_URL at a "
                "running MySQL/MariaDB (mysql://user:password@host:port)."
            ) from exc
        raise
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION sql_mode = %s", (STRICT_SQL_MODE,))
        cursor.execute("SET SESSION time_zone = '+00:00'")
    return connection


def exact_collation(conn: pymysql.connections.Connection) -> str:  # type: ignore[type-arg]
    """A binary, no-pad collation where the server has one: keys compare exactly as in Python and
    Spark ('a' != 'A', 'a' != 'a '), so a duplicate-key check means the same everywhere."""
    with conn.cursor() as cursor:
        for name in ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin"):
            cursor.execute("SHOW COLLATION WHERE Collation = %s", (name,))
            if cursor.fetchone():
                return name
    return "utf8mb4_bin"


def create_table_sql(
    table: Table,
    name: str | None = None,
    *,
    collation: str = "utf8mb4_bin",
    if_not_exists: bool = False,
    shadow_column: bool = False,
) -> str:
    """CREATE TABLE for a contract table (optionally under another name, e.g. a staging copy)."""
    columns = [f"{quote_identifier(c.name)} {c.type.sql()}{'' if c.nullable else ' NOT NULL'}" for c in table.columns]
    if shadow_column:  # see ingest.loaddata.SHADOW_COLUMN
        columns.append("`_lakehouse_last_field` LONGTEXT NULL")
    if table.primary_key:
        columns.append(f"PRIMARY KEY ({', '.join(quote_identifier(k) for k in table.primary_key)})")
    if not re.fullmatch(r"utf8mb4_\w+", collation):
        raise ValueError(f"refusing collation {collation!r}")
    exists = "IF NOT EXISTS " if if_not_exists else ""
    return (
        f"CREATE TABLE {exists}{quote_identifier(name or table.name)} (\n  "
        + ",\n  ".join(columns)
        + f"\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}"
    )


def scalar(cursor: pymysql.cursors.Cursor, sql: str, params: tuple[object, ...] = ()) -> Any:
    """The first column of the first row of a query, or None."""
    cursor.execute(sql, params)
    row = cursor.fetchone()
    return row[0] if row else None


def is_text(sql_type: SqlType) -> bool:
    return sql_type.base in ("CHAR", "VARCHAR", "TEXT")
