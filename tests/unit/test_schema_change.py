"""The pure parts of a contract change: which type changes widen, and how a change is named."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from ingest.core.contract import SqlType
from ingest.core.types import INTEGER_RANGES
from ingest.extract.changes import null_safe
from ingest.load.schema_change import Change, widens
from ingest.load.values import ColumnChecker  # noqa: F401  (the loader's checks: the same type names)

TYPES = st.one_of(
    st.sampled_from([SqlType.parse(t) for t in ("TINYINT", "SMALLINT", "INT", "BIGINT", "DOUBLE", "DATE", "TEXT")]),
    st.builds(lambda p, s: SqlType.parse(f"DECIMAL({p},{min(s, p)})"), st.integers(1, 38), st.integers(0, 10)),
    st.builds(lambda n: SqlType.parse(f"VARCHAR({n})"), st.integers(1, 300)),
    st.builds(lambda n: SqlType.parse(f"CHAR({n})"), st.integers(1, 255)),
    st.builds(lambda f: SqlType.parse(f"DATETIME({f})" if f else "DATETIME"), st.integers(0, 6)),
)


@given(TYPES, TYPES, TYPES)
def test_widening_is_an_order(a: SqlType, b: SqlType, c: SqlType) -> None:
    assert widens(a, a)
    if widens(a, b) and widens(b, c):
        assert widens(a, c)
    if widens(a, b) and widens(b, a):
        assert a.sql() == b.sql()


def _fits(value: Decimal | int, kind: SqlType) -> bool:
    if kind.base in INTEGER_RANGES:
        low, high = INTEGER_RANGES[kind.base]
        return isinstance(value, int) and low <= value <= high
    if kind.base == "DECIMAL":
        assert kind.precision is not None and kind.scale is not None
        exponent = Decimal(value).as_tuple().exponent
        assert isinstance(exponent, int)
        digits = len(str(abs(int(value))).lstrip("0"))
        return -exponent <= kind.scale and digits <= kind.precision - kind.scale
    return kind.base == "DOUBLE" and abs(int(value)) <= 2**53


NUMERIC = TYPES.filter(lambda t: t.base in (*INTEGER_RANGES, "DECIMAL", "DOUBLE"))


def values_of(kind: SqlType) -> st.SearchStrategy[Decimal | int]:
    """Values of `kind`, its extremes included."""
    if kind.base in INTEGER_RANGES:
        return st.integers(*INTEGER_RANGES[kind.base])
    assert kind.precision is not None and kind.scale is not None
    with localcontext() as exact:  # the default 28 digits would round DECIMAL(32,0)'s top up to 1E+32
        exact.prec = 100
        top = Decimal(10) ** (kind.precision - kind.scale) - Decimal(1).scaleb(-kind.scale)
    return st.decimals(min_value=-top, max_value=top, places=kind.scale, allow_nan=False)


@given(st.data(), NUMERIC.filter(lambda t: t.base != "DOUBLE"), NUMERIC)
def test_a_widened_numeric_type_holds_every_value_of_the_old_one(
    data: st.DataObject, old: SqlType, new: SqlType
) -> None:
    value = data.draw(values_of(old))
    if widens(old, new):
        assert _fits(value, new), (value, old, new)


def test_a_change_names_its_flag_scope() -> None:
    drop = Change("orders", "dropped", "qty", "INT", None, "qty")
    assert drop.lossy and drop.allowed_by({"orders.qty"}) and drop.allowed_by({"orders"})
    assert not drop.allowed_by({"orders.amount", "customers"})
    rekey = Change("orders", "rekeyed", None, "a, b", "a")
    assert rekey.allowed_by({"orders"}) and not rekey.allowed_by({"orders.a"})
    assert not Change("orders", "added", "note", None, "TEXT").lossy


@given(st.lists(st.one_of(st.none(), st.decimals(min_value=-999999, max_value=999999, places=2)), min_size=1))
def test_null_safe_fills_every_type_including_a_narrow_decimal(values: list[Decimal | None]) -> None:
    column = pa.array(values, pa.decimal128(8, 2))
    filled = null_safe(pa.table({"amount": column}))
    assert filled["amount"].null_count == 0
    assert filled["amount__is_null"].to_pylist() == [v is None for v in values]
