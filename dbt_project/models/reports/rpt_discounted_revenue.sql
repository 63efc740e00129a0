-- Discounted revenue (TPC-H Q19): how much revenue comes from parts shipped by air and delivered
-- in person, for three combinations of brand, container sizes, quantity range and part size?
{%- set tpch = var('tpch') %}
{%- set brand1 = tpch_param('q19_brand1') %}
{%- set brand2 = tpch_param('q19_brand2') %}
{%- set brand3 = tpch_param('q19_brand3') %}
{%- set quantity1 = tpch['q19_quantity1'] | int %}
{%- set quantity2 = tpch['q19_quantity2'] | int %}
{%- set quantity3 = tpch['q19_quantity3'] | int %}

with

parts as (

    select * from {{ ref('dim_part') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

air_delivered_lines as (

    select
        order_lines.net_revenue,
        order_lines.quantity,
        parts.brand,
        parts.container,
        parts.part_size
    from order_lines
    inner join parts
        on order_lines.part_key = parts.part_key
    where order_lines.ship_mode in ('AIR', 'AIR REG')
        and order_lines.ship_instructions = 'DELIVER IN PERSON'

),

discounted_revenue as (

    select sum(net_revenue) as revenue
    from air_delivered_lines
    where (
        brand = {{ brand1 }}
        and container in ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG')
        and quantity >= {{ quantity1 }} and quantity <= {{ quantity1 }} + 10
        and part_size between 1 and 5
    )
    or (
        brand = {{ brand2 }}
        and container in ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK')
        and quantity >= {{ quantity2 }} and quantity <= {{ quantity2 }} + 10
        and part_size between 1 and 10
    )
    or (
        brand = {{ brand3 }}
        and container in ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG')
        and quantity >= {{ quantity3 }} and quantity <= {{ quantity3 }} + 10
        and part_size between 1 and 15
    )

)

select * from discounted_revenue
