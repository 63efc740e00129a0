-- Potential part promotion (TPC-H Q20): which suppliers of a nation hold excess stock of a kind
-- of part? Suppliers of NATION with more than half of what they shipped in the year starting
-- at DATE still available, for at least one part whose name starts with COLOR.
{%- set name_pattern = tpch_param('q20_color', suffix='%') %}
{%- set year_start = tpch_param('q20_date') %}
{%- set nation = tpch_param('q20_nation') %}

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

named_parts as (

    select part_key
    from parts
    where part_name like {{ name_pattern }}

),

shipped_in_year as (

    select
        part_key,
        supplier_key,
        0.5 * sum(quantity) as half_shipped_quantity
    from order_lines
    where ship_date >= date {{ year_start }}
        and ship_date < date {{ year_start }} + interval '1' year
    group by part_key, supplier_key

),

-- a part/supplier pair that shipped nothing that year does not qualify, as in the specification
excess_stock as (

    select part_supply.supplier_key
    from part_supply
    inner join named_parts
        on part_supply.part_key = named_parts.part_key
    inner join shipped_in_year
        on part_supply.part_key = shipped_in_year.part_key
            and part_supply.supplier_key = shipped_in_year.supplier_key
    where part_supply.available_quantity > shipped_in_year.half_shipped_quantity

),

promotion_candidates as (

    select
        suppliers.supplier_name,
        suppliers.supplier_address
    from suppliers
    where suppliers.nation_name = {{ nation }}
        and exists (
            select 1
            from excess_stock
            where excess_stock.supplier_key = suppliers.supplier_key
        )

)

select * from promotion_candidates
order by supplier_name
