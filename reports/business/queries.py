"""The business questions, answered in Spark SQL over the marts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ingest.core.settings import settings
from reports.business.settings import TOP_N

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


QUERIES = {
    "overview": """
        select
            (select min(order_date) from fct_orders) as first_order,
            (select max(order_date) from fct_orders) as last_order,
            (select count(*) from fct_orders) as orders,
            (select count(distinct customer_key) from fct_orders) as customers,
            count(*) as lines,
            sum(net_revenue) as net_revenue,
            avg(case when receipt_date > commit_date then 1.0 else 0.0 end) as late_share,
            sum(case when return_flag = 'R' then 1 else 0 end)
                / nullif(sum(case when return_flag in ('R', 'A') then 1 else 0 end), 0) as returned_share
        from fct_order_lines
    """,
    "revenue_by_quarter_region": """
        select cast(trunc(lines.order_date, 'QUARTER') as date) as quarter, customers.region_name as region,
               sum(lines.net_revenue) as value
        from fct_order_lines as lines
        inner join dim_customer as customers on lines.customer_key = customers.customer_key
        group by 1, 2
    """,
    "orders_by_month_region": """
        select cast(trunc(orders.order_date, 'MM') as date) as month, customers.region_name as region,
               count(*) as value
        from fct_orders as orders
        inner join dim_customer as customers on orders.customer_key = customers.customer_key
        group by 1, 2
    """,
    "revenue_by_segment_year": """
        select customers.market_segment as segment, year(lines.order_date) as year, sum(lines.net_revenue) as value
        from fct_order_lines as lines
        inner join dim_customer as customers on lines.customer_key = customers.customer_key
        group by 1, 2
    """,
    "top_customers": f"""
        select customers.customer_key, customers.customer_name, customers.market_segment,
               customers.nation_name, count(distinct lines.order_key) as orders,
               sum(lines.net_revenue) as net_revenue
        from fct_order_lines as lines
        inner join dim_customer as customers on lines.customer_key = customers.customer_key
        group by 1, 2, 3, 4
        order by net_revenue desc, customer_key
        limit {TOP_N}
    """,
    "late_by_ship_mode": """
        select ship_mode, count(*) as lines,
               sum(case when receipt_date > commit_date then 1 else 0 end) as late_lines,
               avg(case when receipt_date > commit_date then datediff(receipt_date, commit_date) end) as avg_days_late
        from fct_order_lines
        group by 1
        order by 1
    """,
    "suppliers_by_nation": """
        select suppliers.nation_name as nation, suppliers.region_name as region,
               count(distinct suppliers.supplier_key) as suppliers, count(*) as lines,
               sum(lines.net_revenue) as net_revenue,
               avg(case when lines.receipt_date > lines.commit_date then 1.0 else 0.0 end) as late_share
        from fct_order_lines as lines
        inner join dim_supplier as suppliers on lines.supplier_key = suppliers.supplier_key
        group by 1, 2
        order by net_revenue desc
    """,
    "top_suppliers": f"""
        select suppliers.supplier_key, suppliers.supplier_name, suppliers.nation_name, count(*) as lines,
               sum(lines.net_revenue) as net_revenue,
               avg(case when lines.receipt_date > lines.commit_date then 1.0 else 0.0 end) as late_share
        from fct_order_lines as lines
        inner join dim_supplier as suppliers on lines.supplier_key = suppliers.supplier_key
        group by 1, 2, 3
        order by net_revenue desc, supplier_key
        limit {TOP_N}
    """,
    "returns_by_quarter_region": """
        select cast(trunc(lines.order_date, 'QUARTER') as date) as quarter, customers.region_name as region,
               sum(case when lines.return_flag = 'R' then 1 else 0 end)
                   / sum(case when lines.return_flag in ('R', 'A') then 1 else 0 end) as value
        from fct_order_lines as lines
        inner join dim_customer as customers on lines.customer_key = customers.customer_key
        where lines.return_flag in ('R', 'A')
        group by 1, 2
        having count(*) >= 30  -- a share of a handful of settled lines says nothing
    """,
}


# Restricted columns (tagged pii in dbt) and what the page shows instead unless they are allowed.
RESTRICTED = {
    "customers.customer_name": "concat('customer ', customers.customer_key)",
    "suppliers.supplier_name": "concat('supplier ', suppliers.supplier_key)",
}


def show_restricted_setting() -> bool:
    """LAKEHOUSE_REPORT_SHOW_RESTRICTED=true lets the page show customer and supplier names."""
    return settings().report_show_restricted


def report_sql(name: str, show_restricted: bool) -> str:
    """A chart's query; without `show_restricted`, restricted columns become their stand-ins (the
    first use keeps the column's name for the chart code, the `group by` follows the expression)."""
    sql = QUERIES[name]
    if not show_restricted:
        for column, stand_in in RESTRICTED.items():
            sql = sql.replace(column, f"{stand_in} as {column.split('.')[1]}", 1).replace(column, stand_in)
    return sql


def collect(spark: SparkSession, name: str, show_restricted: bool = False) -> list[dict[str, Any]]:
    return [row.asDict() for row in spark.sql(report_sql(name, show_restricted)).collect()]
