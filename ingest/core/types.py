"""Every contract type in one table: its MySQL, Arrow, Spark, validation and profile forms.

A contract column's type (`SqlType`) is one of the rows below. Each hop asks this table instead of
keeping its own list: the loader's CREATE TABLE and checks, the extract's schema check and Parquet
schema, the scaffold's staging casts, the profile page's charts. A type added here is added
everywhere; a test holds every row complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

if TYPE_CHECKING:
    from ingest.core.contract import SqlType

Family = Literal["integer", "decimal", "double", "date", "datetime", "boolean", "text"]
ProfileKind = Literal["number", "time", "text", "other"]

_TEXTS = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext"})
_TIMES = frozenset({"datetime", "timestamp"})


@dataclass(frozen=True)
class ContractType:
    """One contract type. `mysql` and `spark` may hold `{p}` (precision or length), `{s}` (scale)
    and `{fsp}` (a DATETIME's `(digits)`, empty without fractional seconds)."""

    family: Family  # the one rule that decides what a valid CSV value is (validate, values)
    mysql: str  # the column type the loader creates
    stored_as: frozenset[str]  # the information_schema DATA_TYPE values the extract accepts
    arrow: pa.DataType | None  # None: built from precision and scale (DECIMAL)
    spark: str  # what the staging model casts to
    profile: ProfileKind  # which chart the profile page draws
    integer_range: tuple[int, int] | None = None


def _integer(name: str, bits: int, arrow: pa.DataType) -> ContractType:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return ContractType("integer", name, frozenset({name.lower()}), arrow, name.lower(), "number", (low, high))


TYPES: dict[str, ContractType] = {
    "TINYINT": _integer("TINYINT", 8, pa.int8()),
    "SMALLINT": _integer("SMALLINT", 16, pa.int16()),
    "INT": _integer("INT", 32, pa.int32()),
    "BIGINT": _integer("BIGINT", 64, pa.int64()),
    "DECIMAL": ContractType("decimal", "DECIMAL({p},{s})", frozenset({"decimal"}), None, "decimal({p}, {s})", "number"),
    "DOUBLE": ContractType("double", "DOUBLE", frozenset({"double"}), pa.float64(), "double", "number"),
    "DATE": ContractType("date", "DATE", frozenset({"date"}), pa.date32(), "date", "time"),
    # Loads store UTC wall-clock time in a DATETIME, so the value never shifts with the session's
    # time zone (a TIMESTAMP column would convert); both read back as UTC instants.
    "DATETIME": ContractType("datetime", "DATETIME{fsp}", _TIMES, pa.timestamp("us", tz="UTC"), "timestamp", "time"),
    "TIMESTAMP": ContractType("datetime", "DATETIME{fsp}", _TIMES, pa.timestamp("us", tz="UTC"), "timestamp", "time"),
    "BOOLEAN": ContractType("boolean", "TINYINT(1)", frozenset({"tinyint"}), pa.bool_(), "boolean", "other"),
    "CHAR": ContractType("text", "CHAR({p})", _TEXTS, pa.string(), "string", "text"),
    "VARCHAR": ContractType("text", "VARCHAR({p})", _TEXTS, pa.string(), "string", "text"),
    "TEXT": ContractType("text", "TEXT", _TEXTS, pa.string(), "string", "text"),
}

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    name: kind.integer_range for name, kind in TYPES.items() if kind.integer_range is not None
}


def _fill(template: str, sql_type: SqlType) -> str:
    fsp = f"({sql_type.precision})" if sql_type.precision else ""
    return template.format(p=sql_type.precision, s=sql_type.scale, fsp=fsp)


def mysql_type(sql_type: SqlType) -> str:
    """The MySQL column type the loader creates for a contract type."""
    return _fill(TYPES[sql_type.base].mysql, sql_type)


def spark_type(sql_type: SqlType) -> str:
    """The Spark SQL type of a contract type (what the staging model casts to)."""
    return _fill(TYPES[sql_type.base].spark, sql_type)


def arrow_type(sql_type: SqlType) -> pa.DataType:
    """The Arrow type a contract column is written as in the lake's Parquet."""
    arrow = TYPES[sql_type.base].arrow
    if arrow is not None:
        return arrow
    precision, scale = sql_type.precision or 10, sql_type.scale or 0
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def family(sql_type: SqlType) -> Family:
    return TYPES[sql_type.base].family


def profile_kind(type_text: str) -> ProfileKind:
    """Which chart a column gets, from its type as the contract writes it (`DECIMAL(15,2)`)."""
    kind = TYPES.get(type_text.split("(")[0].strip().upper())
    return kind.profile if kind is not None else "other"
