"""What the business report reads and how it speaks: the marts, its colours, its error."""

from __future__ import annotations

from ingest.core.errors import DataError

# The marts the page reads; dbt_project/models/exposures.yml declares the same list.
MARTS = ("fct_order_lines", "fct_orders", "dim_customer", "dim_supplier")
TOP_N = 10
REGION_COLORS = {
    "AFRICA": "#e15759",
    "AMERICA": "#4e79a7",
    "ASIA": "#f28e2b",
    "EUROPE": "#59a14f",
    "MIDDLE EAST": "#b07aa1",
}
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]


class ReportError(DataError):
    """The report cannot be made; the message says what to do next."""
