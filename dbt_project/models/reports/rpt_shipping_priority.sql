-- Shipping priority (TPC-H Q3): which unshipped orders of a market segment are worth the most?
-- The 10 orders placed before DATE by customers of SEGMENT with the largest revenue still to
-- ship after DATE, with their order date and shipping priority.
{%- set segment = tpch_param('q3_segment') %}
{%- set cutoff = tpch_param('q3_date') %}

with

customers as (

    select * from {{ ref('dim_customer') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

segment_orders as (

    select
        orders.order_key,
        orders.order_date,
        orders.ship_priority
    from orders
    inner join customers
        on orders.customer_key = customers.customer_key
    where customers.market_segment = {{ segment }}
        and orders.order_date < date {{ cutoff }}

),

unshipped_lines as (

    select
        order_key,
        net_revenue as revenue
    from order_lines
    where ship_date > date {{ cutoff }}
        -- implied by the order date filter; lets Spark skip the later month partitions
        and order_month < date {{ cutoff }}

),

order_revenue as (

    select
        unshipped_lines.order_key,
        sum(unshipped_lines.revenue) as revenue,
        segment_orders.order_date,
        segment_orders.ship_priority
    from unshipped_lines
    inner join segment_orders
        on unshipped_lines.order_key = segment_orders.order_key
    group by unshipped_lines.order_key, segment_orders.order_date, segment_orders.ship_priority

)

select * from order_revenue
order by revenue desc, order_date asc
limit 10
