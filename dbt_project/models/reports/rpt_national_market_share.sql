-- National market share (TPC-H Q8): how has a nation's share of a region's market for a part
-- type changed? For 1995 and 1996, the share of the revenue from customers of REGION buying
-- parts of TYPE that went to suppliers of NATION.
{%- set nation = tpch_param('q8_nation') %}
{%- set region = tpch_param('q8_region') %}
{%- set part_type = tpch_param('q8_type') %}

with

customers as (

    select * from {{ ref('dim_customer') }}

),

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

parts as (

    select * from {{ ref('dim_part') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

regional_sales as (

    select
        extract(year from order_lines.order_date) as order_year,
        order_lines.net_revenue as volume,
        suppliers.nation_name as supplier_nation
    from order_lines
    inner join parts
        on order_lines.part_key = parts.part_key
    inner join suppliers
        on order_lines.supplier_key = suppliers.supplier_key
    inner join customers
        on order_lines.customer_key = customers.customer_key
    where customers.region_name = {{ region }}
        and parts.part_type = {{ part_type }}
        and order_lines.order_date between date '1995-01-01' and date '1996-12-31'
        -- the same range on the partition column, so Spark reads only those months
        and order_lines.order_month between date '1995-01-01' and date '1996-12-31'

),

market_share as (

    select
        order_year,
        sum(case when supplier_nation = {{ nation }} then volume else 0 end) / sum(volume) as market_share
    from regional_sales
    group by order_year

)

select * from market_share
order by order_year
