-- Product type profit measure (TPC-H Q9): how much profit do parts of a kind make? For parts
-- whose name contains COLOR, the profit (discounted price minus supply cost) per supplier
-- nation and year of order, latest year first.
{%- set name_pattern = tpch_param('q9_color', prefix='%', suffix='%') %}

with

parts as (

    select * from {{ ref('dim_part') }}

),

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

part_supply as (

    select * from {{ ref('fct_part_supply') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

colored_parts as (

    select part_key
    from parts
    where part_name like {{ name_pattern }}

),

profit as (

    select
        suppliers.nation_name,
        extract(year from order_lines.order_date) as order_year,
        order_lines.net_revenue
        - part_supply.supply_cost * order_lines.quantity as amount
    from order_lines
    inner join colored_parts
        on order_lines.part_key = colored_parts.part_key
    inner join part_supply
        on order_lines.part_key = part_supply.part_key
            and order_lines.supplier_key = part_supply.supplier_key
    inner join suppliers
        on order_lines.supplier_key = suppliers.supplier_key

),

profit_by_nation_and_year as (

    select
        nation_name,
        order_year,
        sum(amount) as sum_profit
    from profit
    group by nation_name, order_year

)

select * from profit_by_nation_and_year
order by nation_name asc, order_year desc
