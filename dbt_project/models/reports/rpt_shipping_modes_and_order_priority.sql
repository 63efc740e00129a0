-- Shipping modes and order priority (TPC-H Q12): do cheaper shipping modes make urgent orders
-- late? For lines shipped by SHIPMODE1 or SHIPMODE2 and received late (after the commit date,
-- though shipped before it) in the year starting at DATE: how many belong to high priority
-- orders (1-URGENT, 2-HIGH) and how many to the others, per ship mode.
{%- set ship_mode1 = tpch_param('q12_shipmode1') %}
{%- set ship_mode2 = tpch_param('q12_shipmode2') %}
{%- set year_start = tpch_param('q12_date') %}

with

orders as (

    select * from {{ ref('fct_orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

late_lines as (

    select
        order_lines.ship_mode,
        orders.order_priority
    from order_lines
    inner join orders
        on order_lines.order_key = orders.order_key
    where order_lines.ship_mode in ({{ ship_mode1 }}, {{ ship_mode2 }})
        and order_lines.commit_date < order_lines.receipt_date
        and order_lines.ship_date < order_lines.commit_date
        and order_lines.receipt_date >= date {{ year_start }}
        and order_lines.receipt_date < date {{ year_start }} + interval '1' year

),

late_lines_by_priority as (

    select
        ship_mode,
        sum(case when order_priority = '1-URGENT' or order_priority = '2-HIGH' then 1 else 0 end) as high_line_count,
        sum(case when order_priority <> '1-URGENT' and order_priority <> '2-HIGH' then 1 else 0 end) as low_line_count
    from late_lines
    group by ship_mode

)

select * from late_lines_by_priority
order by ship_mode
