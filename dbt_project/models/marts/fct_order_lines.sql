-- One row per order line, with its order's customer and date, partitioned by the order's month.
-- An incremental run rebuilds exactly the months whose rows changed since the last build: the
-- months, old and new, of every order that a raw batch committed since then touches (a changed
-- or deleted order or line). insert_overwrite replaces whole month partitions, so a rebuilt month
-- never holds a line twice. What the last build saw is kept in the table's properties; a new full
-- snapshot, or a table outside the configured lake, makes `guard_incremental_models` (on run
-- start) drop it for a full build; so does a month that lost every line (checked below, before
-- `is_incremental()` decides: insert_overwrite cannot empty a partition).
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by=['order_month'],
        meta={'lake_sources': ['tpch.orders', 'tpch.lineitem']},
        pre_hook="{{ replace_whole_table_when_built_in_full() }}",
        post_hook="{{ remember_lake_batches(this, model.config.meta.lake_sources) }}",
    )
}}

{%- if execute and model.resource_type == 'model' and flags.WHICH in ('run', 'build') and not flags.FULL_REFRESH -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if existing is not none and order_lines_month_emptied(existing) -%}
        {{ log("lakehouse: fct_order_lines is built in full: a month lost every line", info=true) }}
        {%- do adapter.drop_relation(existing) -%}
    {%- endif -%}
{%- endif %}

with

lines as (
    select * from {{ ref('stg_tpch__lineitem') }}
),

orders as (
    select * from {{ ref('stg_tpch__orders') }}
),

{% if is_incremental() %}
{%- set seen = seen_lake_batches(this) %}
changed_orders as (
    {{ changed_order_keys(seen) }}
),

changed_months as (
    select cast(trunc(order_date, 'MM') as date) as order_month
    from orders
    where order_key in (select changed_orders.order_key from changed_orders)
    union
    select order_month
    from {{ this }}
    where order_key in (select changed_orders.order_key from changed_orders)
),
{% endif %}

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
{% if is_incremental() %}
where order_month in (select changed_months.order_month from changed_months)
{% endif %}
