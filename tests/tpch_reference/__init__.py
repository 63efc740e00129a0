"""The 22 TPC-H business questions answered independently by DuckDB, and the check against the rpt_ models.

The dbt `rpt_` models answer the TPC-H questions on Spark over the star-schema marts. This module
answers the same questions a second, independent way: the specification's queries in their
original form (`qNN.sql` beside this file, with the validation parameters written in), run by
DuckDB on the very CSV files the pipeline loaded, typed exactly as the dataset contract says.
`assert_reports_match` then compares each report with its answer.

How numbers are compared (`compare`, `DEFAULT_TOLERANCE`):
- Exact numbers with at most 4 decimal places (counts, and sums and products of the DECIMAL(15,2)
  columns) must be equal: both engines do exact decimal arithmetic on them, so any difference is a
  real one.
- Averages and quotients are rounded differently by the two engines: Spark returns a DECIMAL cut
  to (at least) 6 decimal places (its minimum adjusted scale: an error up to 5e-7), DuckDB returns
  a DOUBLE. Those (any value that is a float or has more than 4 decimal places) match when
  `|actual - expected| <= tolerance * max(1, |expected|)`, tolerance 1e-6 by default: twice
  Spark's rounding error. At TPC-H 0.01 one line item more or less moves any average or share by
  far more than that, and the sums and counts beside an average are compared exactly anyway.
- Dates, strings and NULLs must be equal. Values a driver returns as text (PyHive returns
  DECIMAL and DATE as strings) are parsed when the other side is a number or a date.
- Rows are compared in order: every TPC-H query with more than one row has an ORDER BY. A
  report stored as a Parquet table forgets that order, so read it back with `report_select`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from ingest.core.contract import SqlType, contract_path, load_contract

QUERIES_DIR = Path(__file__).parent
DEFAULT_TOLERANCE = 1e-6
# Exact numbers with more decimal places than this are rounded averages or quotients.
EXACT_MAX_PLACES = 4

# The specification's validation parameters (TPC-H 3.0.1, section 2.4, "Query Validation"). The same
# dict is the dbt var `tpch` in dbt_project.yml, which the rpt_ models read; the qNN.sql files have
# these values written in. Q11's FRACTION is the spec's SF1 value 0.0001 (the spec scales it as
# 0.0001 / SF for other scale factors; the check only needs both engines to use the same value).
VALIDATION_PARAMETERS: dict[str, Any] = {
    "q1_delta_days": 90,
    "q2_size": 15,
    "q2_type": "BRASS",
    "q2_region": "EUROPE",
    "q3_segment": "BUILDING",
    "q3_date": "1995-03-15",
    "q4_date": "1993-07-01",
    "q5_region": "ASIA",
    "q5_date": "1994-01-01",
    "q6_date": "1994-01-01",
    "q6_discount": 0.06,
    "q6_quantity": 24,
    "q7_nation1": "FRANCE",
    "q7_nation2": "GERMANY",
    "q8_nation": "BRAZIL",
    "q8_region": "AMERICA",
    "q8_type": "ECONOMY ANODIZED STEEL",
    "q9_color": "green",
    "q10_date": "1993-10-01",
    "q11_nation": "GERMANY",
    "q11_fraction": 0.0001,
    "q12_shipmode1": "MAIL",
    "q12_shipmode2": "SHIP",
    "q12_date": "1994-01-01",
    "q13_word1": "special",
    "q13_word2": "requests",
    "q14_date": "1995-09-01",
    "q15_date": "1996-01-01",
    "q16_brand": "Brand#45",
    "q16_type": "MEDIUM POLISHED",
    "q16_sizes": [49, 14, 23, 45, 19, 3, 36, 9],
    "q17_brand": "Brand#23",
    "q17_container": "MED BOX",
    "q18_quantity": 300,
    "q19_quantity1": 1,
    "q19_quantity2": 10,
    "q19_quantity3": 20,
    "q19_brand1": "Brand#12",
    "q19_brand2": "Brand#23",
    "q19_brand3": "Brand#34",
    "q20_color": "forest",
    "q20_date": "1994-01-01",
    "q20_nation": "CANADA",
    "q21_nation": "SAUDI ARABIA",
    "q22_country_codes": ["13", "31", "23", "29", "30", "18", "17"],
}

# TPC-H query number -> the dbt model that answers it.
REPORTS: dict[int, str] = {
    1: "rpt_pricing_summary",
    2: "rpt_minimum_cost_supplier",
    3: "rpt_shipping_priority",
    4: "rpt_order_priority_checking",
    5: "rpt_local_supplier_volume",
    6: "rpt_forecasting_revenue_change",
    7: "rpt_volume_shipping",
    8: "rpt_national_market_share",
    9: "rpt_product_type_profit",
    10: "rpt_returned_item_reporting",
    11: "rpt_important_stock_identification",
    12: "rpt_shipping_modes_and_order_priority",
    13: "rpt_customer_distribution",
    14: "rpt_promotion_effect",
    15: "rpt_top_supplier",
    16: "rpt_parts_supplier_relationship",
    17: "rpt_small_quantity_order_revenue",
    18: "rpt_large_volume_customer",
    19: "rpt_discounted_revenue",
    20: "rpt_potential_part_promotion",
    21: "rpt_suppliers_who_kept_orders_waiting",
    22: "rpt_global_sales_opportunity",
}

# The ORDER BY of each report in its own column names (None: a single-row answer).
REPORT_ORDER_BY: dict[int, str | None] = {
    1: "return_flag, line_status",
    2: "account_balance desc, nation_name, supplier_name, part_key",
    3: "revenue desc, order_date",
    4: "order_priority",
    5: "revenue desc",
    6: None,
    7: "supplier_nation, customer_nation, ship_year",
    8: "order_year",
    9: "nation_name, order_year desc",
    10: "revenue desc",
    11: "stock_value desc",
    12: "ship_mode",
    13: "customer_count desc, order_count desc",
    14: None,
    15: "supplier_key",
    16: "supplier_count desc, brand, part_type, part_size",
    17: None,
    18: "total_price desc, order_date",
    19: None,
    20: "supplier_name",
    21: "num_wait desc, supplier_name",
    22: "country_code",
}

# Contract base types -> DuckDB types (lengths of CHAR/VARCHAR do not matter to the answers).
_DUCKDB_TYPES = {"CHAR": "VARCHAR", "VARCHAR": "VARCHAR", "TEXT": "VARCHAR", "DATETIME": "TIMESTAMP"}


class Answer(NamedTuple):
    """A query's result: column names and rows."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def reference_sql(query: int) -> str:
    """The text of TPC-H query `query` (1-22) in its original form, for DuckDB."""
    if query not in REPORTS:
        raise ValueError(f"TPC-H has queries 1 to 22, not {query}")
    return (QUERIES_DIR / f"q{query:02d}.sql").read_text(encoding="utf-8")


def report_select(report: int | str, relation: str | None = None) -> str:
    """`select * from <report> order by <the report's ORDER BY>`: how to read a stored report back in order.

    `report` is a query number or a model name. `relation` defaults to the model name; pass a
    qualified name (e.g. `reports.rpt_top_supplier`) when the report lives in a schema. It is SQL
    text: pass only names you control.
    """
    query = report if isinstance(report, int) else {model: q for q, model in REPORTS.items()}[report]
    order_by = REPORT_ORDER_BY[query]
    select = f"select * from {relation or REPORTS[query]}"
    return f"{select} order by {order_by}" if order_by else select


def _duckdb_type(sql_type: SqlType) -> str:
    return _DUCKDB_TYPES.get(sql_type.base, str(sql_type))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def load_tpch(con: duckdb.DuckDBPyConnection, csv_dir: Path, contract_file: Path | None = None) -> None:
    """Create the eight TPC-H tables in `con` from the CSV files in `csv_dir`, typed as the contract says.

    Column types come from the dataset contract (ingest/contracts/tpch.yml by default), not from
    DuckDB's type sniffing, so DECIMAL(15,2) stays decimal and keys stay integers, as in the lake.
    Tables rather than views: each CSV file is parsed once, not once per query.
    """
    contract = load_contract(contract_file or contract_path("tpch"))
    for table in contract.tables:
        columns = ", ".join(f"{_literal(c.name)}: {_literal(_duckdb_type(c.type))}" for c in table.columns)
        dialect = table.dialect
        options = [
            f"header = {'true' if dialect.header else 'false'}",
            f"delim = {_literal(dialect.delimiter)}",
            f"quote = {_literal(dialect.quote)}",
            f"columns = {{{columns}}}",
            "auto_detect = false",
        ]
        if dialect.null_tokens:
            options.append("nullstr = [" + ", ".join(_literal(t) for t in dialect.null_tokens) + "]")
        source = _literal(str(csv_dir / table.files))
        # Table and column names were validated as identifiers by the contract.
        con.execute(f"create or replace table {table.name} as select * from read_csv({source}, {', '.join(options)})")


def run_reference_queries(con: duckdb.DuckDBPyConnection) -> dict[int, Answer]:
    """Run the 22 reference queries on the TPC-H tables in `con`."""
    answers: dict[int, Answer] = {}
    for query in REPORTS:
        cursor = con.execute(reference_sql(query))
        columns = [d[0] for d in cursor.description or []]
        answers[query] = Answer(columns, cursor.fetchall())
    return answers


def duckdb_answers(csv_dir: Path) -> dict[int, list[tuple[Any, ...]]]:
    """The answers to the 22 TPC-H queries on the CSV files in `csv_dir`, computed by DuckDB in memory."""
    with duckdb.connect() as con:
        load_tpch(con, csv_dir)
        return {query: answer.rows for query, answer in run_reference_queries(con).items()}


def _decimal_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _as_number(value: Any) -> int | float | Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def values_match(expected: Any, actual: Any, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether one value of a report equals the reference value (the rules are in the module docstring)."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, int | float | Decimal) and not isinstance(expected, bool):
        number = _as_number(actual)
        if number is None:
            return False
        if isinstance(expected, float) or isinstance(number, float):
            a, e = float(number), float(expected)
            if math.isnan(a) or math.isnan(e):
                return math.isnan(a) and math.isnan(e)
            return abs(a - e) <= tolerance * max(1.0, abs(e))
        e_dec, a_dec = Decimal(expected), Decimal(number)
        if e_dec == a_dec:
            return True
        if max(_decimal_places(e_dec), _decimal_places(a_dec)) <= EXACT_MAX_PLACES:
            return False
        return abs(a_dec - e_dec) <= Decimal(str(tolerance)) * max(Decimal(1), abs(e_dec))
    if isinstance(expected, dt.date):
        return _as_date(actual) == (expected.date() if isinstance(expected, dt.datetime) else expected)
    if isinstance(expected, str) and not isinstance(actual, str):
        number, date = _as_number(expected), _as_date(expected)
        if number is not None and _as_number(actual) is not None:
            return values_match(_as_number(actual), number, tolerance)
        if date is not None and isinstance(actual, dt.date):
            return values_match(actual, date, tolerance)
        return False
    return bool(expected == actual)


def compare(
    expected: Sequence[Sequence[Any]],
    actual: Sequence[Sequence[Any]],
    tolerance: float = DEFAULT_TOLERANCE,
    columns: Sequence[str] | None = None,
    max_messages: int = 20,
) -> list[str]:
    """The differences between a report's rows and the reference rows, as messages (empty: they match).

    Rows are compared position by position (the order is part of the answer). Numbers follow the
    tolerance rules of the module docstring; `columns` only names the columns in the messages.
    """
    messages: list[str] = []
    if len(expected) != len(actual):
        messages.append(f"expected {len(expected)} rows, got {len(actual)}")
    differences = 0
    shown = len(messages)
    for index, (want, got) in enumerate(zip(expected, actual, strict=False), start=1):
        if len(want) != len(got):
            differences += 1
            if len(messages) < max_messages:
                messages.append(f"row {index}: expected {len(want)} columns, got {len(got)}")
            continue
        for position, (e, a) in enumerate(zip(want, got, strict=True)):
            if values_match(e, a, tolerance):
                continue
            differences += 1
            if len(messages) < max_messages:
                name = columns[position] if columns and position < len(columns) else f"column {position + 1}"
                messages.append(f"row {index}, {name}: expected {e!r}, got {a!r}")
    if len(messages) - shown < differences:
        messages.append(f"... {differences} differing values in all")
    return messages


def assert_reports_match(
    csv_dir: Path,
    fetch_report: Callable[[str], Sequence[Sequence[Any]]],
    tolerance: float = DEFAULT_TOLERANCE,
    queries: Sequence[int] | None = None,
) -> None:
    """Check every rpt_ model against DuckDB's answer on the same CSV files; fail with all differences.

    `fetch_report(model_name)` returns the report's rows in the report's order (stored reports lose
    their order: read them with `report_select(query)`). `queries` limits the check to some queries.
    """
    with duckdb.connect() as con:
        load_tpch(con, csv_dir)
        reference = run_reference_queries(con)
    failures: list[str] = []
    for query in queries or sorted(REPORTS):
        model = REPORTS[query]
        answer = reference[query]
        problems = compare(answer.rows, list(fetch_report(model)), tolerance, columns=answer.columns)
        failures.extend(f"Q{query} {model}: {problem}" for problem in problems)
    if failures:
        raise AssertionError(f"{len(failures)} difference(s) between the reports and DuckDB:\n" + "\n".join(failures))


def report_vars_differ(tpch_var: Mapping[str, Any]) -> list[str]:
    """The keys where the dbt var `tpch` (from dbt_project.yml) differs from VALIDATION_PARAMETERS.

    The reference queries have the validation parameters written in, so the reports must be built
    with the same values for the comparison to mean anything.
    """
    keys = sorted(set(tpch_var) | set(VALIDATION_PARAMETERS))
    return [
        f"{key}: dbt var {tpch_var.get(key)!r}, reference {VALIDATION_PARAMETERS.get(key)!r}"
        for key in keys
        if str(tpch_var.get(key)) != str(VALIDATION_PARAMETERS.get(key))
    ]
