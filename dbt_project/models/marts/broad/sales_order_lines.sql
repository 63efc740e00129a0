-- One row per order line for broad access: its measures with its customer's segment and
-- geography and its supplier's geography, and no personal column. The flat table that a BI
-- tool's dashboards filter and cross-filter (Superset's TPC-H dashboard, bi/dashboards/tpch/).
with

lines as (
    select * from {{ ref('fct_order_lines') }}
),

customers as (
    select * from {{ ref('dim_customer_masked') }}
),

suppliers as (
    select * from {{ ref('dim_supplier_masked') }}
),

final as (
    select
        lines.order_key,
        lines.line_number,
        lines.order_date,
        lines.ship_date,
        lines.customer_key,
        customers.market_segment,
        customers.nation_name as customer_nation,
        customers.region_name as customer_region,
        lines.supplier_key,
        suppliers.nation_name as supplier_nation,
        suppliers.region_name as supplier_region,
        lines.ship_mode,
        lines.return_flag,
        lines.quantity,
        lines.net_revenue,
        case when lines.receipt_date > lines.commit_date then 1 else 0 end as is_late,
        case
            when lines.receipt_date > lines.commit_date then datediff(lines.receipt_date, lines.commit_date)
        end as days_late
    from lines
    -- Left joins keep every line: a line whose customer or supplier is missing shows a null region,
    -- which the regions' not_null tests catch (a test of two models would hold the watcher's retries).
    left join customers on lines.customer_key = customers.customer_key
    left join suppliers on lines.supplier_key = suppliers.supplier_key
)

select * from final
