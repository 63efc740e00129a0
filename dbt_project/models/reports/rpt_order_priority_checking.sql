-- Order priority checking (TPC-H Q4): how well does the order priority system work? The number
-- of orders placed in the quarter starting at DATE that had at least one line received after
-- its committed date, per order priority.
{%- set quarter_start = tpch_param('q4_date') %}

with

orders as (

    select * from {{ ref('fct_orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

quarter_orders as (

    select
        order_key,
        order_priority
    from orders
    where order_date >= date {{ quarter_start }}
        and order_date < date {{ quarter_start }} + interval '3' month

),

late_lines as (

    select order_key
    from order_lines
    where commit_date < receipt_date

),

late_orders_by_priority as (

    select
        order_priority,
        count(*) as order_count
    from quarter_orders
    where exists (
            select 1
            from late_lines
            where late_lines.order_key = quarter_orders.order_key
        )
    group by order_priority

)

select * from late_orders_by_priority
order by order_priority
