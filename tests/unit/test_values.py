"""One definition of a valid value: the vectorised checks agree with the reference validator on
generated values, and their canonical text means the same value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.core.contract import Column, SqlType
from ingest.load.validate import checker_for
from ingest.load.values import ColumnChecker

TYPES = [
    "TINYINT", "SMALLINT", "INT", "BIGINT", "DECIMAL(7,2)", "DECIMAL(5,0)", "DECIMAL(12,6)", "DOUBLE",
    "DATE", "DATETIME", "DATETIME(3)", "TIMESTAMP(6)", "BOOLEAN", "CHAR(3)", "VARCHAR(8)", "TEXT",
]  # fmt: skip

digits = st.text("0123456789", min_size=0, max_size=22)
signs = st.sampled_from(["", "", "+", "-"])
numbers = st.builds(
    lambda s, a, dot, b, e: f"{s}{a}{dot}{b}{e}",
    signs,
    digits,
    st.sampled_from(["", ".", "."]),
    digits,
    st.sampled_from(["", "", "e5", "E-3", "e", "e+400"]),
)
dates = st.builds(
    lambda y, m, d, sep: f"{y:0{4}d}{sep}{m:02d}{sep}{d:02d}",
    st.integers(0, 10000),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["-", "-", "-", "/", "", "."]),
)
times = st.builds(
    lambda day, t, h, mi, s, frac, z: f"{day}{t}{h:02d}:{mi:02d}:{s:02d}{frac}{z}",
    dates,
    st.sampled_from([" ", "T", "  "]),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.sampled_from(["", ".", ".5", ".120", ".123456", ".1234567", ".000000000", ".1234567890"]),
    st.sampled_from(["", "", "Z", "+01:00"]),
)
special = st.sampled_from(
    ["", " ", "NA", "NULL", "0", "-0", "00", "+", "-", ".", "1.", ".5", "yes", "No", "T", "f", "2", "１２",
     "٣", "1_000", "1e5", "inf", "nan", "69-12-31", "70.1.1", "2024/1/5", "20240105", "24-01-05 10:00",
     "2024-01-05 10:00", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "12\n"]
)  # fmt: skip
values = st.one_of(numbers, dates, times, special, st.text(max_size=10))


def reference(sql_type: SqlType, value: str) -> object | None:
    try:
        result: object = checker_for(sql_type)(value)
        return result
    except ValueError:
        return None


@pytest.mark.parametrize("type_text", TYPES)
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(batch=st.lists(values, min_size=1, max_size=40))
@example(batch=["69-12-31", "70.1.1", "2024/1/5", "20240105", "24-01-05 10:00", "2024-02-30", "0000-01-01"])
def test_vectorised_checks_agree_with_the_reference(type_text: str, batch: list[str]) -> None:
    sql_type = SqlType.parse(type_text)
    checker = ColumnChecker(Column(name="c", type=sql_type), [])
    bad, canonical = checker(pa.array(batch, pa.string()))
    for value, is_bad, text in zip(batch, bad.tolist(), canonical.to_pylist(), strict=True):
        expected = reference(sql_type, value)
        assert is_bad == (expected is None), (type_text, value)
        if expected is None:
            continue
        # The canonical text is the same value again, in the plainest form MySQL reads exactly.
        if sql_type.base in ("CHAR", "VARCHAR", "TEXT"):
            assert text == '"' + value.replace('"', '""') + '"'
        elif sql_type.base == "BOOLEAN":
            assert text == str(expected)
        else:
            assert reference(sql_type, text) == expected, (value, text)
            assert "T" not in text and "Z" not in text and "+" not in text.lstrip("-")[:1]


def test_mysql_lenient_dates_are_invalid() -> None:
    checker = ColumnChecker(Column(name="d", type=SqlType.parse("DATE")), [])
    bad, _ = checker(pa.array(["69-12-31", "70.1.1", "2024/1/5", "20240105", "2024-01-05"]))
    assert bad.tolist() == [True, True, True, True, False]


def test_reference_values() -> None:
    assert reference(SqlType.parse("DECIMAL(7,2)"), "-000.50") == Decimal("-0.50")
    assert reference(SqlType.parse("DATETIME(3)"), "2024-01-05T10:00:00.120Z") == dt.datetime(
        2024, 1, 5, 10, 0, 0, 120000
    )
    assert reference(SqlType.parse("INT"), "١٢") is None  # ASCII digits only
    assert reference(SqlType.parse("DATETIME"), "2024-01-05 10:00") is None  # seconds required
