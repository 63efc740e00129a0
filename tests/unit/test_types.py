"""The table of contract types: every type the contract parser accepts has every form, and the
forms agree with each other (the loader's range is the Arrow width, the column the loader creates
reads back as the same type, Spark and Arrow keep the same decimal digits)."""

from __future__ import annotations

import re
from dataclasses import fields

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.core import types
from ingest.core.contract import SqlType
from ingest.load.schema_change import parse_stored_type
from ingest.load.validate import checker_for

SIMPLE = ("TINYINT", "SMALLINT", "INT", "INTEGER", "BIGINT", "DOUBLE", "FLOAT", "DATE", "TEXT", "BOOLEAN", "BOOL")
CONTRACT_TYPES = st.one_of(
    st.sampled_from([SqlType.parse(t) for t in SIMPLE]),
    st.builds(lambda p, s: SqlType.parse(f"DECIMAL({p},{min(s, p, 30)})"), st.integers(1, 65), st.integers(0, 30)),
    st.builds(lambda p: SqlType.parse(f"NUMERIC({p})"), st.integers(1, 65)),
    st.builds(lambda n: SqlType.parse(f"VARCHAR({n})"), st.integers(1, 16383)),
    st.builds(lambda n: SqlType.parse(f"CHAR({n})"), st.integers(1, 16383)),
    st.builds(lambda base, f: SqlType.parse(f"{base}({f})" if f else base), st.sampled_from(["DATETIME", "TIMESTAMP"]),
              st.integers(0, 6)),
)  # fmt: skip


def test_every_type_the_parser_names_has_a_complete_row() -> None:
    # The parser's own error message is what users read: every type it lists has a row.
    with pytest.raises(ValueError) as refused:
        SqlType.parse("NOT_A_TYPE")
    named = set(re.findall(r"\b([A-Z]+)(?:\(|,|$| )", str(refused.value).split("use one of", 1)[1]))
    assert named and named <= set(types.TYPES)
    for name, kind in types.TYPES.items():
        assert all(getattr(kind, f.name) is not None for f in fields(kind) if f.name not in ("arrow", "integer_range"))
        assert (kind.family == "integer") == (kind.integer_range is not None), name
        assert kind.arrow is not None or kind.family == "decimal", name


@given(CONTRACT_TYPES)
def test_the_column_the_loader_creates_reads_back_as_the_same_type(sql_type: SqlType) -> None:
    stored = parse_stored_type(types.mysql_type(sql_type).lower())
    # TIMESTAMP is stored as DATETIME (UTC wall-clock time): the one change, and on purpose.
    expected = SqlType(base="DATETIME", precision=sql_type.precision) if sql_type.base == "TIMESTAMP" else sql_type
    assert stored == expected
    assert SqlType.parse(str(sql_type)) == sql_type  # the contract's spelling parses back too


@given(CONTRACT_TYPES)
def test_arrow_spark_and_the_loader_agree_on_each_type(sql_type: SqlType) -> None:
    arrow = types.arrow_type(sql_type)
    spark = types.spark_type(sql_type)
    kind = types.TYPES[sql_type.base]
    if kind.integer_range is not None:
        low, high = kind.integer_range
        check = checker_for(sql_type)
        check(str(low)), check(str(high))  # the loader's range is exactly the Arrow width
        with pytest.raises(ValueError):
            check(str(high + 1))
        assert pa.array([low, high], arrow).to_pylist() == [low, high]
        with pytest.raises((pa.ArrowInvalid, OverflowError)):
            pa.array([high + 1], arrow)
        assert spark == sql_type.base.lower()
    elif kind.family == "decimal":
        assert isinstance(arrow, pa.Decimal128Type | pa.Decimal256Type)
        assert (arrow.precision, arrow.scale) == (sql_type.precision, sql_type.scale)
        assert spark == f"decimal({arrow.precision}, {arrow.scale})"
    elif kind.family == "text":
        assert arrow == pa.string() and spark == "string" and types.profile_kind(str(sql_type)) == "text"
    elif kind.family in ("date", "datetime"):
        assert types.profile_kind(str(sql_type)) == "time"
        assert pa.types.is_date(arrow) or (pa.types.is_timestamp(arrow) and arrow.tz == "UTC")
    if kind.family in ("integer", "decimal", "double"):
        assert types.profile_kind(str(sql_type)) == "number"
