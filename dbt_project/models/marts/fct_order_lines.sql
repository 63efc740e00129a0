-- One row per order line, with its order's customer and date, partitioned by the order's month.
-- Incremental runs rebuild the last `order_lines_lookback_months` months (insert_overwrite replaces
-- whole month partitions, so a rebuilt month never holds a line twice).
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by=['order_month'],
    )
}}

with

lines as (
    select * from {{ ref('stg_tpch__lineitem') }}
),

orders as (
    select * from {{ ref('stg_tpch__orders') }}
    {% if is_incremental() %}
    where order_date >= add_months(
        (select max(order_month) from {{ this }}), -{{ var('order_lines_lookback_months') }}
    )
    {% endif %}
),

final as (
    select
        lines.order_key,
        lines.line_number,
        lines.part_key,
        lines.supplier_key,
        orders.customer_key,
        orders.order_date,
        lines.quantity,
        lines.extended_price,
        lines.discount,
        lines.tax,
        cast(lines.extended_price * (1 - lines.discount) as decimal(15, 4)) as net_revenue,
        lines.return_flag,
        lines.line_status,
        lines.ship_date,
        lines.commit_date,
        lines.receipt_date,
        lines.ship_instructions,
        lines.ship_mode,
        lines.line_comment,
        cast(trunc(orders.order_date, 'MM') as date) as order_month
    from lines
    inner join orders on lines.order_key = orders.order_key
)

select * from final
