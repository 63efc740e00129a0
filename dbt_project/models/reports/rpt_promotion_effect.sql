-- Promotion effect (TPC-H Q14): how did promotions do? The percentage of the revenue of lines
-- shipped in the month starting at DATE that came from promotional parts (type PROMO...).
{%- set month_start = tpch_param('q14_date') %}

with

parts as (

    select * from {{ ref('dim_part') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

month_lines as (

    select
        parts.part_type,
        order_lines.net_revenue as revenue
    from order_lines
    inner join parts
        on order_lines.part_key = parts.part_key
    where order_lines.ship_date >= date {{ month_start }}
        and order_lines.ship_date < date {{ month_start }} + interval '1' month

),

promotion_effect as (

    select 100.00 * sum(case when part_type like 'PROMO%' then revenue else 0 end) / sum(revenue) as promo_revenue
    from month_lines

)

select * from promotion_effect
