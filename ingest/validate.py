"""Row validation against a contract: the same rules a strict MySQL applies, with clear reasons.

The loader first trusts MySQL (a plain LOAD DATA in strict mode); only when MySQL reports a
problem does it read the file through these checks, to name every bad row and keep the rest.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ingest.contract import INTEGER_RANGES, Column, Dialect, SqlType

Checker = Callable[[str], Any]  # returns the value normalised for key comparison, or raises ValueError

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d*)(?:\.(\d*))?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z)?$")
BOOLEAN_TRUE = ("true", "t", "yes", "y", "1")
BOOLEAN_FALSE = ("false", "f", "no", "n", "0")
TEXT_MAX_BYTES = 65535


def _integer(sql_type: SqlType) -> Checker:
    low, high = INTEGER_RANGES[sql_type.base]

    def check(value: str) -> int:
        if not _INTEGER.match(value):
            raise ValueError(f"{value!r} is not an integer")
        number = int(value)
        if not low <= number <= high:
            raise ValueError(f"{value} is out of range for {sql_type.base}")
        return number

    return check


def _decimal(sql_type: SqlType) -> Checker:
    precision, scale = sql_type.precision or 10, sql_type.scale or 0

    def check(value: str) -> Decimal:
        match = _DECIMAL.match(value)
        if not match or not (match[1] or match[2]):
            raise ValueError(f"{value!r} is not a decimal number")
        whole = match[1].lstrip("0")
        fraction = (match[2] or "").rstrip("0")
        if len(fraction) > scale:
            raise ValueError(f"{value} has more than {scale} decimal places for DECIMAL({precision},{scale})")
        if len(whole) > precision - scale:
            raise ValueError(f"{value} has too many digits for DECIMAL({precision},{scale})")
        return Decimal(value)

    return check


def _double(_: SqlType) -> Checker:
    def check(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")) or not re.search(r"\d", value):
            raise ValueError(f"{value!r} is not a finite number")
        return number

    return check


def _date(_: SqlType) -> Checker:
    def check(value: str) -> dt.date:
        if not _DATE.match(value):
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid calendar date") from None

    return check


def _datetime(sql_type: SqlType) -> Checker:
    digits = sql_type.precision or 0

    def check(value: str) -> dt.datetime:
        match = _DATETIME.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a timestamp (YYYY-MM-DD HH:MM[:SS[.fff]], 'T' and a final 'Z' allowed; "
                "other UTC offsets are not)"
            )
        fraction = (match[3] or "").rstrip("0")
        if len(fraction) > digits:
            raise ValueError(f"{value} has more fractional-second digits than {sql_type} keeps")
        try:
            return dt.datetime.fromisoformat(f"{match[1]} {match[2]}{'.' + fraction if fraction else ''}")
        except ValueError:
            raise ValueError(f"{value!r} is not a valid timestamp") from None

    return check


def _boolean(_: SqlType) -> Checker:
    def check(value: str) -> int:
        lowered = value.lower()
        if lowered in BOOLEAN_TRUE:
            return 1
        if lowered in BOOLEAN_FALSE:
            return 0
        raise ValueError(f"{value!r} is not a boolean ({'/'.join(BOOLEAN_TRUE)} or {'/'.join(BOOLEAN_FALSE)})")

    return check


def _text(sql_type: SqlType) -> Checker:
    limit = sql_type.precision

    def check(value: str) -> str:
        if limit is not None and len(value) > limit:
            raise ValueError(f"value of {len(value)} characters is longer than {sql_type}")
        if limit is None and len(value.encode("utf-8", "surrogateescape")) > TEXT_MAX_BYTES:
            raise ValueError(f"value is longer than TEXT's {TEXT_MAX_BYTES} bytes")
        return value

    return check


_CHECKERS: dict[str, Callable[[SqlType], Checker]] = {
    **{base: _integer for base in INTEGER_RANGES},
    "DECIMAL": _decimal,
    "DOUBLE": _double,
    "DATE": _date,
    "DATETIME": _datetime,
    "TIMESTAMP": _datetime,
    "BOOLEAN": _boolean,
    "CHAR": _text,
    "VARCHAR": _text,
    "TEXT": _text,
}


def checker_for(sql_type: SqlType) -> Checker:
    return _CHECKERS[sql_type.base](sql_type)


class RowValidator:
    """Checks the fields of one record, in file column order, and tracks primary keys seen."""

    def __init__(self, columns: list[Column], dialect: Dialect, primary_key: list[str]) -> None:
        self.columns = columns
        self.checkers = [checker_for(c.type) for c in columns]
        self.null_tokens = frozenset(dialect.null_tokens)
        self.key_positions = [i for i, c in enumerate(columns) if c.name in primary_key]
        self.keys_seen: dict[tuple[Any, ...], int] = {}

    def problem(self, fields: list[str], line: int) -> str | None:
        """Why the record cannot be loaded, or None when it fits."""
        if len(fields) != len(self.columns):
            return f"expected {len(self.columns)} fields, found {len(fields)}"
        values: list[Any] = []
        for column, check, field in zip(self.columns, self.checkers, fields, strict=True):
            if field in self.null_tokens:
                if not column.nullable:
                    return f"column {column.name}: NULL ({field!r}) in a NOT NULL column"
                values.append(None)
                continue
            try:
                values.append(check(field))
            except ValueError as exc:
                return f"column {column.name}: {exc}"
        if self.key_positions:
            key = tuple(values[i] for i in self.key_positions)
            first = self.keys_seen.setdefault(key, line)
            if first != line:
                where = f"line {first}" if first else "an earlier file of this table"
                return f"duplicate primary key {key!r} (first seen at {where})"
        return None

    def remember_key(self, key: tuple[Any, ...]) -> None:
        """A key already in the staging table from an earlier file of the same table."""
        self.keys_seen.setdefault(key, 0)
