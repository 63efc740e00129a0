"""MySQL rows -> Arrow record batches in the contract's exact types, streamed with flat memory.

Two readers, one output (`pa.RecordBatch`es whose schema is `arrow_schema(table)`):
- `connectorx` (default when it can be exact): a Rust reader of MySQL's binary protocol, about
  10x faster than Python drivers. It returns every DECIMAL as decimal128(38,10) through a 96-bit
  decimal, so it is used only when each DECIMAL has precision <= 28 and scale <= 10; the cast to
  decimal128(p,s) is a *safe* cast, which raises rather than rounds.
- `pymysql`: an unbuffered server-side cursor (SSCursor) read in fixed-size batches; exact for
  every type, about 90k rows/s.

Types: INT -> int32, BIGINT -> int64, SMALLINT -> int16, TINYINT -> int8, BOOLEAN (TINYINT(1)) ->
bool, DOUBLE -> float64, DECIMAL(p,s) -> decimal128(p,s) (decimal256 above 38 digits), DATE ->
date32, CHAR/VARCHAR/TEXT -> string, DATETIME/TIMESTAMP -> timestamp[us, tz=UTC]: the loader
stores UTC wall-clock time in DATETIME columns, so the values are UTC instants (and every session
runs with time_zone '+00:00', so a TIMESTAMP column reads as UTC too). NULL stays NULL.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pymysql
import pymysql.converters
import pymysql.cursors

from ingest.core.contract import Table
from ingest.core.errors import DataError, TransientError
from ingest.core.mysql import connect, quote_identifier
from ingest.core.settings import MySQLSettings
from ingest.core.types import arrow_type

READERS = ("auto", "connectorx", "pymysql")
CONNECTORX_MAX_PRECISION = 28  # rust_decimal holds 28 significant digits
CONNECTORX_MAX_SCALE = 10  # its Arrow output is decimal128(38,10)
UTC_SESSION = "SET SESSION time_zone = '+00:00'"
SLOW_CONSUMER = "SET SESSION net_write_timeout = 600"  # the writer may pause the stream (uploads, zstd)
SQL_MODE = "SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')"  # `literal` escapes with \\


class ReadError(TransientError):
    """The reader failed talking to MySQL (a dropped connection, a driver error): retried."""


class ValueMismatch(DataError):
    """MySQL returned a value that does not fit the contract, or the reader cannot read it exactly."""


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet schema of a contract table: exact types, NOT NULL kept as required fields."""
    return pa.schema([pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in table.columns])


def connectorx_blocker(table: Table, settings: MySQLSettings) -> str | None:
    """Why connectorx cannot read this table exactly, or None when it can."""
    if settings.unix_socket:
        return "connectorx does not connect through a unix socket"
    if settings.tls:
        return "the connection uses TLS, and connectorx takes no CA or client certificate"
    for column in table.columns:
        sql = column.type
        precision, scale = sql.precision or 10, sql.scale or 0
        # connectorx scales every value to 10 decimal places in 96 bits (28 digits): the integer
        # part may have 18 digits at most, whatever the declared scale (DECIMAL(19,0) overflows).
        if sql.base == "DECIMAL" and (
            precision > CONNECTORX_MAX_PRECISION
            or scale > CONNECTORX_MAX_SCALE
            or precision - scale > CONNECTORX_MAX_PRECISION - CONNECTORX_MAX_SCALE
        ):
            digits = "at most 18 digits before the point and 10 after"
            return f"column {column.name} is {sql}: connectorx would round or overflow it ({digits})"
    return None


def pick_reader(requested: str, table: Table, settings: MySQLSettings) -> str:
    """`auto` -> connectorx when exact, else pymysql; an explicit connectorx must be exact."""
    blocker = connectorx_blocker(table, settings)
    if requested == "pymysql" or (requested == "auto" and blocker):
        return "pymysql"
    if requested == "connectorx" and blocker:
        raise ValueMismatch(f"table {table.name}: {blocker}; use --reader pymysql or auto")
    return "connectorx"


def literal(value: object) -> str:
    """A typed Python value as an escaped SQL literal (connectorx binds no parameters). The
    session runs without NO_BACKSLASH_ESCAPES (`SQL_MODE`), which this escaping assumes."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"refusing to render {value!r} as SQL")
        return repr(value)  # the shortest text that reads back as the same double
    if not isinstance(value, int | Decimal | dt.date | dt.datetime | str):
        raise TypeError(f"refusing to render {type(value).__name__} as SQL")
    return str(pymysql.converters.escape_item(value, "utf8mb4"))


def select_sql(table: Table, database: str, where: str) -> str:
    columns = ", ".join(quote_identifier(c.name) for c in table.columns)
    source = f"{quote_identifier(database)}.{quote_identifier(table.name)}"
    return f"SELECT {columns} FROM {source}" + (f" WHERE {where}" if where else "")


def _check_nulls(batch: pa.RecordBatch, schema: pa.Schema, table: Table) -> None:
    for index, field in enumerate(schema):
        if not field.nullable and batch.column(index).null_count:
            message = f"table {table.name}: column {field.name} is NOT NULL in the contract but MySQL has NULLs"
            raise ValueMismatch(message)


def conform(batch: pa.RecordBatch, schema: pa.Schema, table: Table) -> pa.RecordBatch:
    """Cast a reader's batch to the contract's types; a lossy cast raises (safe=True)."""
    arrays = []
    for index, field in enumerate(schema):
        column = batch.column(index)
        if column.type != field.type:
            try:
                column = pc.cast(column, field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueMismatch(f"table {table.name}, column {field.name}: {exc}") from exc
        arrays.append(column)
    result = pa.RecordBatch.from_arrays(arrays, schema=schema)
    _check_nulls(result, schema, table)
    return result


def _connectorx_url(settings: MySQLSettings, database: str) -> str:
    """Built in memory only; it holds the password and must never be printed or logged."""
    password = f":{quote(settings.password, safe='')}" if settings.password else ""
    user = quote(settings.user, safe="")
    return f"mysql://{user}{password}@{settings.host}:{settings.port}/{quote(database, safe='')}"


def _scrub(message: str, settings: MySQLSettings) -> str:
    if settings.password:
        message = message.replace(settings.password, "***").replace(quote(settings.password, safe=""), "***")
    return message


def read_connectorx(
    settings: MySQLSettings, database: str, table: Table, where: str, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """Stream with connectorx's arrow_stream; `where` must hold only escaped literals."""
    import connectorx

    schema = arrow_schema(table)
    try:
        reader = connectorx.read_sql(
            _connectorx_url(settings, database),
            select_sql(table, database, where),
            return_type="arrow_stream",
            batch_size=batch_rows,
            pre_execution_query=[UTC_SESSION, SLOW_CONSUMER, SQL_MODE],
        )
        for batch in reader:
            yield conform(batch, schema, table)
    except (ReadError, ValueMismatch):
        raise
    except BaseException as exc:  # connectorx raises RuntimeError and even pyo3 PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise ReadError(f"table {table.name}: connectorx failed: {_scrub(str(exc), settings)}") from None


def column_array(values: Sequence[object], field: pa.Field) -> pa.Array:
    """Python values (as pymysql and the binlog reader return them) as an Arrow array of the field's type."""
    if pa.types.is_boolean(field.type):
        return pa.array(values, type=pa.int8()).cast(pa.bool_())
    return pa.array(values, type=field.type)  # naive datetimes are taken as UTC, as stored


def read_pymysql(
    settings: MySQLSettings,
    database: str,
    table: Table,
    where: str,
    params: tuple[object, ...],
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """Stream with an unbuffered cursor: `batch_rows` rows in memory at a time."""
    schema = arrow_schema(table)
    conn = connect(settings, database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(SLOW_CONSUMER)
        with conn.cursor(pymysql.cursors.SSCursor) as cursor:
            cursor.execute(select_sql(table, database, where), params)
            while rows := cursor.fetchmany(batch_rows):
                columns = list(zip(*rows, strict=True))
                try:
                    arrays = [column_array(columns[i], field) for i, field in enumerate(schema)]
                except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
                    raise ValueMismatch(f"table {table.name}: a value does not fit the contract: {exc}") from exc
                batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
                _check_nulls(batch, schema, table)
                yield batch
    finally:
        conn.close()


@dataclass(frozen=True)
class Condition:
    """A WHERE clause with `{}` where values go, and the values: bound as parameters by pymysql,
    rendered as escaped literals for connectorx (which takes no parameters)."""

    text: str = ""
    values: tuple[object, ...] = ()

    @classmethod
    def cursor_range(cls, table: Table, low: object | None, high: object | None) -> Condition:
        """low <= cursor <= high (no bound when None; no condition without a cursor). Without a low
        bound (a full snapshot), rows whose cursor is NULL are read too."""
        if table.cursor is None:
            return cls()
        column = quote_identifier(table.cursor)
        if low is None:
            return cls() if high is None else cls(f"({column} <= {{}} OR {column} IS NULL)", (high,))
        parts = [(f"{column} {op} {{}}", v) for op, v in ((">=", low), ("<=", high)) if v is not None]
        return cls(" AND ".join(p for p, _ in parts), tuple(v for _, v in parts))

    @classmethod
    def keys_in(cls, columns: list[str], keys: list[tuple[object, ...]]) -> Condition:
        """(k1, k2, ...) IN ((...), ...): the rows of these primary keys."""
        marks = "(" + ", ".join(["{}"] * len(columns)) + ")"
        target = "(" + ", ".join(quote_identifier(c) for c in columns) + ")"
        return cls(f"{target} IN ({', '.join([marks] * len(keys))})", tuple(v for key in keys for v in key))

    def for_pymysql(self) -> tuple[str, tuple[object, ...]]:
        return self.text.format(*["%s"] * len(self.values)), self.values

    def for_connectorx(self) -> str:
        return self.text.format(*[literal(v) for v in self.values])


def read_batches(
    reader: str,
    settings: MySQLSettings,
    database: str,
    table: Table,
    condition: Condition,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """Rows of `table` (only its contract columns, in order) that meet `condition`."""
    if reader == "connectorx":
        return read_connectorx(settings, database, table, condition.for_connectorx(), batch_rows)
    where, params = condition.for_pymysql()
    return read_pymysql(settings, database, table, where, params, batch_rows)
