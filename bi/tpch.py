"""The TPC-H business dashboard: the business page's questions, filterable by region, market segment
and order date, with three TPC-H answers beside them.

Its charts read `sales_order_lines` (a broad mart: one row per order line with its customer's and
supplier's geography, no personal column) and three `rpt_` models. Edit it here and run
`python -m bi export` to rewrite bi/dashboards/tpch/ (a unit test checks the two agree).
"""

from __future__ import annotations

from bi.bundle import Chart, Column, Dashboard, Dataset, Filter, Metric

MARTS = "lakehouse_marts"
REPORTS = "lakehouse_reports"

RETURNED = "SUM(CASE WHEN return_flag = 'R' THEN 1 ELSE 0 END)"
SETTLED = "SUM(CASE WHEN return_flag IN ('R', 'A') THEN 1 ELSE 0 END)"

SALES = Dataset(
    MARTS,
    "sales_order_lines",
    columns=(
        Column("order_key", "BIGINT"),
        Column("line_number", "INT"),
        Column("order_date", "DATE", temporal=True),
        Column("ship_date", "DATE", temporal=True),
        Column("customer_key", "BIGINT"),
        Column("market_segment", "STRING"),
        Column("customer_nation", "STRING"),
        Column("customer_region", "STRING"),
        Column("supplier_key", "BIGINT"),
        Column("supplier_nation", "STRING"),
        Column("supplier_region", "STRING"),
        Column("ship_mode", "STRING"),
        Column("return_flag", "STRING"),
        Column("quantity", "DECIMAL(15,2)"),
        Column("net_revenue", "DECIMAL(15,4)"),
        Column("is_late", "INT"),
        Column("days_late", "INT"),
    ),
    metrics=(
        Metric("net_revenue", "SUM(net_revenue)", "Net revenue", ",.0f", "Extended price after discount"),
        Metric("orders", "COUNT(DISTINCT order_key)", "Orders", ",d"),
        Metric("lines", "COUNT(*)", "Order lines", ",d"),
        Metric("customers", "COUNT(DISTINCT customer_key)", "Customers", ",d"),
        Metric("late_share", "AVG(is_late)", "Late lines", ".1%", "Share of lines received after their commit date"),
        Metric("avg_days_late", "AVG(days_late)", "Average days late", ".1f"),
        Metric("returned_share", f"{RETURNED} / NULLIF({SETTLED}, 0)", "Returned", ".1%", "Of the settled lines"),
    ),
    description="One row per order line for broad access (dbt model sales_order_lines).",
)

PRICING_SUMMARY = Dataset(
    REPORTS,
    "rpt_pricing_summary",
    columns=(
        Column("return_flag", "STRING"),
        Column("line_status", "STRING"),
        Column("sum_qty", "DECIMAL(25,2)"),
        Column("sum_base_price", "DECIMAL(25,2)"),
        Column("sum_disc_price", "DECIMAL(25,4)"),
        Column("sum_charge", "DECIMAL(25,6)"),
        Column("avg_qty", "DECIMAL(19,6)"),
        Column("avg_price", "DECIMAL(19,6)"),
        Column("avg_disc", "DECIMAL(19,6)"),
        Column("count_order", "BIGINT"),
    ),
    description="TPC-H Q1 (dbt model rpt_pricing_summary).",
)

SHIPPING_MODES = Dataset(
    REPORTS,
    "rpt_shipping_modes_and_order_priority",
    columns=(Column("ship_mode", "STRING"), Column("high_line_count", "BIGINT"), Column("low_line_count", "BIGINT")),
    metrics=(
        Metric("high_priority_lines", "SUM(high_line_count)", "Urgent or high priority", ",d"),
        Metric("low_priority_lines", "SUM(low_line_count)", "Other priorities", ",d"),
    ),
    description="TPC-H Q12 (dbt model rpt_shipping_modes_and_order_priority).",
)

MARKET_SHARE = Dataset(
    REPORTS,
    "rpt_national_market_share",
    columns=(Column("order_year", "INT"), Column("market_share", "DECIMAL(38,6)")),
    metrics=(Metric("market_share", "SUM(market_share)", "Market share", ".2%"),),
    description="TPC-H Q8 (dbt model rpt_national_market_share).",
)


def big_number(name: str, metric: str) -> Chart:
    return Chart(name, "big_number_total", SALES, {"metric": metric, "header_font_size": 0.4}, width=3, height=25)


def over_time(name: str, viz_type: str, metric: str, grain: str) -> Chart:
    params = {
        "x_axis": "order_date",
        "time_grain_sqla": grain,
        "metrics": [metric],
        "groupby": ["customer_region"],
        "row_limit": 10000,
        "show_legend": True,
        "legendOrientation": "top",
        "rich_tooltip": True,
        "x_axis_time_format": "smart_date",
        "y_axis_format": "SMART_NUMBER",
    }
    if viz_type == "echarts_timeseries_bar":
        params["stack"] = "Stack"
    return Chart(name, viz_type, SALES, params, width=6)


NET_REVENUE = big_number("Net revenue", "net_revenue")
ORDERS = big_number("Orders", "orders")
LATE = big_number("Late deliveries", "late_share")
RETURNED_SHARE = big_number("Returned lines", "returned_share")
REVENUE_BY_QUARTER = over_time("Net revenue by quarter and region", "echarts_timeseries_bar", "net_revenue", "P3M")
ORDERS_BY_MONTH = over_time("Orders by month and region", "echarts_timeseries_line", "orders", "P1M")
REVENUE_BY_SEGMENT = Chart(
    "Net revenue by market segment",
    "pie",
    SALES,
    {"groupby": ["market_segment"], "metric": "net_revenue", "show_labels": True, "label_type": "key_percent"},
)
LATE_BY_SHIP_MODE = Chart(
    "Late lines by ship mode",
    "echarts_timeseries_bar",
    SALES,
    {"x_axis": "ship_mode", "metrics": ["late_share"], "y_axis_format": ".1%"},
)
RETURNS_BY_QUARTER = over_time(
    "Returned lines by quarter and region", "echarts_timeseries_line", "returned_share", "P3M"
)
SUPPLIERS_BY_NATION = Chart(
    "Suppliers by nation",
    "table",
    SALES,
    {
        "query_mode": "aggregate",
        "groupby": ["supplier_nation", "supplier_region"],
        "metrics": ["net_revenue", "lines", "late_share"],
        "timeseries_limit_metric": "net_revenue",
        "order_desc": True,
        "row_limit": 50,  # every nation (25): at the limit exactly, Superset warns that rows may be cut
    },
)
TOP_CUSTOMERS = Chart(
    "Top customers by net revenue",
    "table",
    SALES,
    {
        "query_mode": "aggregate",
        "groupby": ["customer_key", "customer_nation", "market_segment"],
        "metrics": ["orders", "net_revenue"],
        "timeseries_limit_metric": "net_revenue",
        "order_desc": True,
        "row_limit": 10,
    },
    width=6,
    description="Customers by key: names are personal data, and this dashboard is for broad access.",
)
PRICING = Chart(
    "Pricing summary (TPC-H Q1)",
    "table",
    PRICING_SUMMARY,
    {
        "query_mode": "raw",
        "all_columns": [c.name for c in PRICING_SUMMARY.columns],
        "order_by_cols": ['["return_flag", true]', '["line_status", true]'],
        "row_limit": 100,
    },
    width=8,
)
SHIPPING = Chart(
    "Shipping modes and order priority (TPC-H Q12)",
    "echarts_timeseries_bar",
    SHIPPING_MODES,
    {"x_axis": "ship_mode", "metrics": ["high_priority_lines", "low_priority_lines"], "stack": "Stack"},
)
SHARE = Chart(
    "Brazil's market share in America (TPC-H Q8)",
    "echarts_timeseries_bar",
    MARKET_SHARE,
    {"x_axis": "order_year", "metrics": ["market_share"], "y_axis_format": ".2%"},
    width=6,
)

REGION = Filter("Customer region", "filter_select", SALES, "customer_region")
SEGMENT = Filter("Market segment", "filter_select", SALES, "market_segment")
ORDER_DATE = Filter("Order date", "filter_time")

DASHBOARD = Dashboard(
    title="TPC-H business overview",
    slug="tpch-business",
    description=(
        "Net revenue, orders, late deliveries and returns by region, market segment and time, from the dbt "
        "marts; filter by customer region, market segment and order date, or click a chart to cross-filter."
    ),
    rows=(
        (NET_REVENUE, ORDERS, LATE, RETURNED_SHARE),
        (REVENUE_BY_QUARTER, ORDERS_BY_MONTH),
        (REVENUE_BY_SEGMENT, LATE_BY_SHIP_MODE, SUPPLIERS_BY_NATION),
        (TOP_CUSTOMERS, RETURNS_BY_QUARTER),
        (PRICING, SHIPPING),
        (SHARE,),
    ),
    filters=(REGION, SEGMENT, ORDER_DATE),
    unfiltered=(PRICING, SHIPPING, SHARE),  # fixed TPC-H answers: the filters' columns are not theirs
)
