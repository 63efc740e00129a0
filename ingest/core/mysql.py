"""Connections to MySQL and the few SQL helpers every hop shares."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.connections import MySQLResult
from pymysql.protocol import LoadLocalPacketWrapper

from ingest.core.contract import IDENTIFIER, SqlType, Table
from ingest.core.errors import TransientError
from ingest.core.settings import MySQLSettings
from ingest.core.types import family

# Strict: a value that does not fit is an error, never a silent truncation or a zero date.
STRICT_SQL_MODE = "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"


class MySQLUnavailable(TransientError):
    """No MySQL server answers at the configured address."""


class InfileRefused(pymysql.err.OperationalError):
    """The server asked for a local file the loader is not sending."""


class _GuardedResult(MySQLResult):
    def _read_load_local_packet(self, first_packet: Any) -> None:
        conn: LoadingConnection = self.connection  # type: ignore[assignment]
        requested = LoadLocalPacketWrapper(first_packet).filename
        stream = conn.take_stream(requested)
        failure: BaseException | None = None
        try:
            for chunk in stream or ():
                view = memoryview(chunk)
                for start in range(0, len(view), conn.packet_size):
                    conn.write_packet(view[start : start + conn.packet_size])
        except BaseException as exc:  # noqa: BLE001 - re-raised below, once the protocol is back in step
            failure = exc
        conn.write_packet(b"")  # end of data: all of it, what was sent before a failure, or none
        try:
            answer = conn._read_packet()  # type: ignore[no-untyped-call]
        except pymysql.err.MySQLError:
            if failure is None and stream is not None:
                raise
            answer = None
        if failure is not None:
            raise failure
        if stream is None:
            name = requested.decode("utf-8", "replace")[:200]
            raise InfileRefused(
                2000, f"refused the server's request for local file {name!r}: the loader sends only its own stream"
            )
        if answer is None or not answer.is_ok_packet():
            raise pymysql.err.OperationalError(2014, "Commands out of sync after LOAD DATA LOCAL")
        self._read_ok_packet(answer)  # type: ignore[attr-defined]


class LoadingConnection(pymysql.connections.Connection):  # type: ignore[type-arg]
    """A connection that answers a `LOAD DATA LOCAL INFILE` request only for the stream the loader
    is sending right now, under a one-time name. PyMySQL itself sends any file the server names,
    at any point of the connection; a hostile or compromised server could read the client's files."""

    packet_size = 1 << 20
    _expected: bytes | None = None
    _stream: Iterable[bytes] | None = None

    @contextmanager
    def infile(self, chunks: Iterable[bytes]) -> Iterator[str]:
        """A one-time file name for a LOAD DATA LOCAL statement; the server gets `chunks` under it."""
        name = f"lakehouse-stream-{uuid.uuid4().hex}"
        self._expected, self._stream = name.encode(), chunks
        try:
            yield name
        finally:
            self._expected = self._stream = None

    def take_stream(self, requested: bytes) -> Iterable[bytes] | None:
        if self._expected is None or requested != self._expected:
            return None
        stream, self._expected, self._stream = self._stream, None, None
        return stream

    def _read_query_result(self, unbuffered: bool = False) -> int:
        self._result = None
        result = _GuardedResult(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self._result = result
        if result.server_status is not None:
            self.server_status = result.server_status
        return int(result.affected_rows or 0)


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
) -> LoadingConnection:
    """Open a connection in strict mode. `local_infile` is enabled only where a load needs it, and
    even there the server gets only the stream the loader is sending (see LoadingConnection)."""
    try:
        connection = LoadingConnection(
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
            ssl=settings.ssl_context(),
        )
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else None
        if settings.tls and "SSL" in str(exc.args[-1]).upper():
            raise MySQLUnavailable(
                f"TLS to MySQL at {settings} failed ({str(exc.args[-1])[:300]}). Check ssl_ca (the CA that "
                "signed the server's certificate), ssl_cert/ssl_key, and that the server's certificate names "
                "the host you connect to; ssl_verify=false skips the check (not for production)."
            ) from None
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
) -> str:
    """CREATE TABLE for a contract table (optionally under another name, e.g. a staging copy)."""
    columns = [f"{quote_identifier(c.name)} {c.type.sql()}{'' if c.nullable else ' NOT NULL'}" for c in table.columns]
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
    return family(sql_type) == "text"
