-- Important stock identification (TPC-H Q11): which parts make up a significant share of a
-- nation's stock? The parts whose stock value (supply cost times available quantity) at the
-- suppliers of NATION exceeds FRACTION of the nation's total stock value, largest first.
{%- set tpch = var('tpch') %}
{%- set nation = tpch_param('q11_nation') %}
{%- set fraction = tpch['q11_fraction'] | float %}

with

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

part_supply as (

    select * from {{ ref('fct_part_supply') }}

),

national_stock as (

    select
        part_supply.part_key,
        part_supply.supply_cost * part_supply.available_quantity as stock_value
    from part_supply
    inner join suppliers
        on part_supply.supplier_key = suppliers.supplier_key
    where suppliers.nation_name = {{ nation }}

),

stock_by_part as (

    select
        part_key,
        sum(stock_value) as stock_value
    from national_stock
    group by part_key

),

significance_threshold as (

    select sum(stock_value) * {{ fraction }} as min_stock_value
    from national_stock

),

important_stock as (

    select
        part_key,
        stock_value
    from stock_by_part
    where stock_value > (select significance_threshold.min_stock_value from significance_threshold)

)

select * from important_stock
order by stock_value desc
