"""The contract's value rules applied to whole columns at once, and each value's canonical text.

Each check takes a column of raw field text (pyarrow) and returns which values are valid and the
text MySQL is sent for them: a form that MySQL reads exactly as meant (no sign or leading zeros
on integers, a space instead of `T` in timestamps, `1`/`0` for booleans, text in quotes with its
quotes doubled). The rules are those of `ingest.load.validate`, in RE2 and Arrow kernels instead
of per-value Python; a property test holds the two to the same answer on generated values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.core.contract import Column, SqlType
from ingest.core.types import INTEGER_RANGES, family
from ingest.load.validate import (
    BOOLEAN_FALSE,
    BOOLEAN_TRUE,
    DATE_PATTERN,
    DATETIME_PATTERN,
    DECIMAL_PATTERN,
    DOUBLE_PATTERN,
    INTEGER_PATTERN,
    TEXT_MAX_BYTES,
)

Checked = tuple[pa.BooleanArray, pa.Array]  # valid?, canonical text (unspecified where not valid)
VectorCheck = Callable[[pa.StringArray], Checked]


def _all(values: pa.Array, flag: bool) -> pa.BooleanArray:
    return pa.array(np.full(len(values), flag), pa.bool_())


def _safe_cast(
    values: pa.Array, ok: pa.BooleanArray, placeholder: str, target: pa.DataType
) -> tuple[pa.Array, pa.BooleanArray]:
    """Cast the valid-looking values; values the cast refuses (Feb 30, an overflow) become invalid."""
    candidates = pc.if_else(ok, values, placeholder)
    try:
        return candidates.cast(target), ok
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # Rare: find the refused values one by one (only those that passed the pattern).
    flags = ok.to_numpy(zero_copy_only=False).copy()
    out = []
    for i, text in enumerate(candidates.to_pylist()):
        try:
            out.append(pa.scalar(text).cast(target).as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            flags[i] = False
            out.append(None)
    return pa.array(out, target), pa.array(flags, pa.bool_())


def _two_paths(
    values: pa.StringArray, simple: pa.BooleanArray, fast: VectorCheck, general: VectorCheck, placeholder: str
) -> Checked:
    """`fast` answers for the values in `simple` (the common, plain form); `general` for the rest."""
    if pc.all(simple).as_py():
        return fast(values)
    ok, canonical = fast(pc.if_else(simple, values, placeholder))
    other = pc.invert(simple)
    if not pc.any(other).as_py():
        return ok, canonical
    rest = values.filter(other)
    rest_ok, rest_canonical = general(rest)
    return (
        pc.replace_with_mask(ok, other, rest_ok),
        pc.replace_with_mask(canonical, other, rest_canonical.cast(canonical.type)),
    )


def _plain_digits(values: pa.StringArray, most: int) -> pa.BooleanArray:
    """Digits only, at most `most` of them, and no leading zero (a lone 0 aside)."""
    length = pc.utf8_length(values)
    leading_zero = pc.and_(pc.starts_with(values, "0"), pc.greater(length, 1))
    return pc.and_(pc.and_(pc.ascii_is_decimal(values), pc.less_equal(length, most)), pc.invert(leading_zero))


def _integer(sql_type: SqlType) -> VectorCheck:
    low, high = INTEGER_RANGES[sql_type.base]

    def fast(values: pa.StringArray) -> Checked:
        numbers = values.cast(pa.int64())
        return pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high)), values

    def check(values: pa.StringArray) -> Checked:
        return _two_paths(values, _plain_digits(values, 18), fast, general, "0")

    def general(values: pa.StringArray) -> Checked:
        ok = pc.match_substring_regex(values, INTEGER_PATTERN)
        plain = pc.replace_substring_regex(values, r"^(-?)\+?0*([0-9])", r"\1\2")
        ok = pc.and_(ok, pc.less_equal(pc.utf8_length(plain), 20))
        numbers, ok = _safe_cast(plain, ok, "0", pa.int64())
        ok = pc.and_(ok, pc.and_(pc.greater_equal(numbers, low), pc.less_equal(numbers, high)))
        return ok, pc.replace_substring_regex(plain, r"^-0$", "0")

    return check


def _decimal(sql_type: SqlType) -> VectorCheck:
    precision, scale = sql_type.precision or 10, sql_type.scale or 0

    def plain(values: pa.StringArray) -> pa.BooleanArray:
        """`123.45`: digits, one point, 1 to `scale` decimals, no leading zero before the point."""
        if scale == 0:
            return _plain_digits(values, precision)
        point = pc.find_substring(values, ".")
        decimals = pc.subtract(pc.subtract(pc.utf8_length(values), point), 1)
        digits = pc.ascii_is_decimal(pc.replace_substring(values, ".", "", max_replacements=1))
        shape = pc.and_(pc.greater_equal(point, 1), pc.less_equal(point, precision - scale))
        shape = pc.and_(shape, pc.and_(pc.greater_equal(decimals, 1), pc.less_equal(decimals, scale)))
        zero_lead = pc.and_(pc.starts_with(values, "0"), pc.greater(point, 1))
        with_point = pc.and_(pc.and_(shape, digits), pc.invert(zero_lead))
        return pc.or_(with_point, _plain_digits(values, precision - scale))  # or a whole number: `17`

    def check(values: pa.StringArray) -> Checked:
        return _two_paths(values, plain(values), lambda v: (_all(v, True), v), general, "0")

    def general(values: pa.StringArray) -> Checked:
        ok = pc.and_(pc.match_substring_regex(values, DECIMAL_PATTERN), pc.match_substring_regex(values, "[0-9]"))
        parts = pc.extract_regex(
            pc.if_else(ok, values, "0"), r"^(?P<sign>[+-]?)0*(?P<whole>[0-9]*?)(?:\.(?P<frac>[0-9]*?)0*)?$"
        )
        sign, whole, fraction = (pc.struct_field(parts, i) for i in range(3))
        ok = pc.and_(ok, pc.less_equal(pc.utf8_length(fraction), scale))
        ok = pc.and_(ok, pc.less_equal(pc.utf8_length(whole), precision - scale))
        whole = pc.if_else(pc.equal(whole, ""), "0", whole)
        dot = pc.if_else(pc.equal(fraction, ""), "", ".")
        zero = pc.and_(pc.equal(whole, "0"), pc.equal(fraction, ""))
        sign = pc.if_else(pc.or_(pc.equal(sign, "+"), zero), "", sign)
        return ok, pc.binary_join_element_wise(sign, whole, dot, fraction, "")

    return check


def _double(_: SqlType) -> VectorCheck:
    def check(values: pa.StringArray) -> Checked:
        ok = pc.match_substring_regex(values, DOUBLE_PATTERN)
        numbers, ok = _safe_cast(pc.replace_substring_regex(values, r"^\+", ""), ok, "0", pa.float64())
        ok = pc.and_(ok, pc.is_finite(numbers))
        numbers = pc.add(numbers, 0.0)  # -0.0 becomes 0.0: one key, as in MySQL
        return ok, pc.if_else(ok, numbers, 0.0).cast(pa.string())

    return check


def _date(_: SqlType) -> VectorCheck:
    def check(values: pa.StringArray) -> Checked:
        ok = pc.and_(pc.match_substring_regex(values, DATE_PATTERN), pc.invert(pc.starts_with(values, "0000")))
        _, ok = _safe_cast(values, ok, "2000-01-01", pa.date32())
        return ok, values

    return check


def _datetime(sql_type: SqlType) -> VectorCheck:
    digits = sql_type.precision or 0

    def check(values: pa.StringArray) -> Checked:
        ok = pc.and_(pc.match_substring_regex(values, DATETIME_PATTERN), pc.invert(pc.starts_with(values, "0000")))
        parts = pc.extract_regex(
            pc.if_else(ok, values, "2000-01-01 00:00:00"),
            r"^(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})[ T](?P<time>[0-9:]{8})(?:\.(?P<frac>[0-9]*?)0*)?Z?$",
        )
        day, time, fraction = (pc.struct_field(parts, i) for i in range(3))
        ok = pc.and_(ok, pc.less_equal(pc.utf8_length(fraction), digits))
        dot = pc.if_else(pc.equal(fraction, ""), "", ".")
        canonical = pc.binary_join_element_wise(day, " ", time, dot, fraction, "")
        _, ok = _safe_cast(canonical, ok, "2000-01-01 00:00:00", pa.timestamp("us"))
        return ok, canonical

    return check


def _boolean(_: SqlType) -> VectorCheck:
    def check(values: pa.StringArray) -> Checked:
        lowered = pc.utf8_lower(values)
        true = pc.is_in(lowered, value_set=pa.array(BOOLEAN_TRUE))
        false = pc.is_in(lowered, value_set=pa.array(BOOLEAN_FALSE))
        return pc.or_(true, false), pc.if_else(true, "1", "0")

    return check


def _text(sql_type: SqlType) -> VectorCheck:
    limit = sql_type.precision

    def check(values: pa.StringArray) -> Checked:
        if limit is not None:
            ok = pc.less_equal(pc.utf8_length(values), limit)
        else:
            ok = pc.less_equal(pc.binary_length(values), TEXT_MAX_BYTES)
        if pc.any(pc.match_substring(values, '"')).as_py():
            values = pc.replace_substring(values, '"', '""')
        quoted = pc.binary_join_element_wise('"', values, '"', "")
        return ok, quoted

    return check


_CHECKS: dict[str, Callable[[SqlType], VectorCheck]] = {
    "integer": _integer,
    "decimal": _decimal,
    "double": _double,
    "date": _date,
    "datetime": _datetime,
    "boolean": _boolean,
    "text": _text,
}


def vector_check(sql_type: SqlType) -> VectorCheck:
    return _CHECKS[family(sql_type)](sql_type)


class ColumnChecker:
    """One column's rules: NULL tokens, nullability and the type's valid values."""

    def __init__(self, column: Column, null_tokens: list[str]) -> None:
        self.column = column
        self.check = vector_check(column.type)
        self.null_tokens = pa.array(null_tokens, pa.string()) if null_tokens else None

    def __call__(self, values: pa.StringArray) -> tuple[np.ndarray, pa.Array]:
        """Which values are bad (numpy bool), and the canonical text (null where the value is NULL)."""
        ok, canonical = self.check(values)
        ok = pc.fill_null(ok, False)  # a value a cast refused compares as null: not valid
        if self.null_tokens is None:
            return ~ok.to_numpy(zero_copy_only=False), canonical
        is_null = pc.is_in(values, value_set=self.null_tokens)
        bad = pc.invert(pc.or_(ok, is_null)) if self.column.nullable else pc.or_(pc.invert(ok), is_null)
        return bad.to_numpy(zero_copy_only=False), pc.if_else(is_null, pa.scalar(None, pa.string()), canonical)
