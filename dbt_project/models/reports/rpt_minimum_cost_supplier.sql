-- Minimum cost supplier (TPC-H Q2): which supplier of a region should be asked for a part of a
-- given size and type? For each such part, the suppliers of the region that offer it at the
-- region's lowest supply cost, richest suppliers first (100 rows).
{%- set tpch = var('tpch') %}
{%- set part_size = tpch['q2_size'] | int %}
{%- set part_type_pattern = tpch_param('q2_type', prefix='%') %}
{%- set region = tpch_param('q2_region') %}

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

-- every offer of a part by a supplier of the region
regional_offers as (

    select
        part_supply.part_key,
        part_supply.supply_cost,
        suppliers.account_balance,
        suppliers.supplier_name,
        suppliers.nation_name,
        suppliers.supplier_address,
        suppliers.supplier_phone,
        suppliers.supplier_comment
    from part_supply
    inner join suppliers
        on part_supply.supplier_key = suppliers.supplier_key
    where suppliers.region_name = {{ region }}

),

lowest_regional_cost as (

    select
        part_key,
        min(supply_cost) as min_supply_cost
    from regional_offers
    group by part_key

),

cheapest_offers as (

    select
        regional_offers.account_balance,
        regional_offers.supplier_name,
        regional_offers.nation_name,
        parts.part_key,
        parts.manufacturer,
        regional_offers.supplier_address,
        regional_offers.supplier_phone,
        regional_offers.supplier_comment
    from regional_offers
    inner join lowest_regional_cost
        on regional_offers.part_key = lowest_regional_cost.part_key
            and regional_offers.supply_cost = lowest_regional_cost.min_supply_cost
    inner join parts
        on regional_offers.part_key = parts.part_key
    where parts.part_size = {{ part_size }}
        and parts.part_type like {{ part_type_pattern }}

)

select * from cheapest_offers
order by account_balance desc, nation_name asc, supplier_name asc, part_key asc
limit 100
