"""What a valid value is, per contract type: the reference definition, with clear reasons.

One definition for every file, clean or not: ISO-8601 dates and timestamps only, plain decimals
within the declared precision and scale, integers in range, booleans from a fixed token set, text
length in characters. `ingest.load.values` applies the same rules vectorised to whole columns (and
a property test holds the two to agreement); this module names the reason for each bad record.
MySQL's own leniency (`69-12-31` as 2069-12-31, `20240105` as a date) never decides.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ingest.core.contract import Column, Dialect, SqlType
from ingest.core.types import INTEGER_RANGES, family

Checker = Callable[[str], Any]  # returns the value normalised for key comparison, or raises ValueError

# ASCII digits only ([0-9], not \d, which also matches other scripts' digits).
INTEGER_PATTERN = r"^[+-]?[0-9]+$"
DECIMAL_PATTERN = r"^[+-]?([0-9]*)(?:\.([0-9]*))?$"
DOUBLE_PATTERN = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?(Z)?$"


def _whole(pattern: str) -> re.Pattern[str]:
    """Python's `$` also matches before a final newline; RE2's (the vectorised checks) does not."""
    return re.compile(pattern.removesuffix("$") + r"\Z")


_INTEGER = _whole(INTEGER_PATTERN)
_DECIMAL = _whole(DECIMAL_PATTERN)
_DOUBLE = _whole(DOUBLE_PATTERN)
_DATE = _whole(DATE_PATTERN)
_DATETIME = _whole(DATETIME_PATTERN)
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
        if not _DOUBLE.match(value):
            raise ValueError(f"{value!r} is not a number")
        number = float(value)
        if number in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a finite number")
        return number + 0.0  # -0.0 and 0.0 are one key

    return check


def _date(_: SqlType) -> Checker:
    def check(value: str) -> dt.date:
        if not _DATE.match(value):
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
        try:
            return dt.date(int(value[:4]), int(value[5:7]), int(value[8:]))
        except ValueError:
            raise ValueError(f"{value!r} is not a valid calendar date") from None

    return check


def _datetime(sql_type: SqlType) -> Checker:
    digits = sql_type.precision or 0

    def check(value: str) -> dt.datetime:
        match = _DATETIME.match(value)
        if not match:
            raise ValueError(
                f"{value!r} is not a timestamp (YYYY-MM-DD HH:MM:SS[.fff], 'T' and a final 'Z' allowed; "
                "other UTC offsets are not)"
            )
        fraction = (match[3] or "").rstrip("0")
        if len(fraction) > digits:
            raise ValueError(f"{value} has more fractional-second digits than {sql_type} keeps")
        day, time = match[1], match[2]
        try:
            return dt.datetime(
                int(day[:4]),
                int(day[5:7]),
                int(day[8:]),
                int(time[:2]),
                int(time[3:5]),
                int(time[6:]),
                int((fraction or "0").ljust(6, "0")),
            )
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


# Each type's rule, by its family (`ingest.core.types`); `ingest.load.values` keeps the same
# families, vectorised.
_RULES: dict[str, Callable[[SqlType], Checker]] = {
    "integer": _integer,
    "decimal": _decimal,
    "double": _double,
    "date": _date,
    "datetime": _datetime,
    "boolean": _boolean,
    "text": _text,
}


def checker_for(sql_type: SqlType) -> Checker:
    return _RULES[family(sql_type)](sql_type)


class RowValidator:
    """Checks the fields of one record, in file column order, and tracks primary keys seen."""

    def __init__(self, columns: list[Column], dialect: Dialect, primary_key: list[str]) -> None:
        self.columns = columns
        self.checkers = [checker_for(c.type) for c in columns]
        self.null_tokens = frozenset(dialect.null_tokens)
        # In the key's own order, whatever order the file's header gives the columns.
        where = {c.name: i for i, c in enumerate(columns)}
        self.key_positions = [where[name] for name in primary_key]
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
