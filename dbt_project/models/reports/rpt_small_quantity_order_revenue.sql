-- Small-quantity-order revenue (TPC-H Q17): how much yearly revenue would be lost without small
-- orders? For parts of BRAND in CONTAINER, the average yearly revenue (over the 7 years of
-- data) of lines for less than 20% of the part's average quantity per line.
{%- set brand = tpch_param('q17_brand') %}
{%- set container = tpch_param('q17_container') %}

with

parts as (

    select * from {{ ref('dim_part') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

chosen_parts as (

    select part_key
    from parts
    where brand = {{ brand }}
        and container = {{ container }}

),

chosen_part_lines as (

    select
        order_lines.part_key,
        order_lines.quantity,
        order_lines.extended_price
    from order_lines
    inner join chosen_parts
        on order_lines.part_key = chosen_parts.part_key

),

small_quantity_limit as (

    select
        part_key,
        0.2 * avg(quantity) as max_quantity
    from chosen_part_lines
    group by part_key

),

small_quantity_revenue as (

    select sum(chosen_part_lines.extended_price) / 7.0 as avg_yearly
    from chosen_part_lines
    inner join small_quantity_limit
        on chosen_part_lines.part_key = small_quantity_limit.part_key
    where chosen_part_lines.quantity < small_quantity_limit.max_quantity

)

select * from small_quantity_revenue
