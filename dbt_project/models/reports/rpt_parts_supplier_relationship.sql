-- Parts/supplier relationship (TPC-H Q16): how many suppliers could supply parts with given
-- attributes? The number of suppliers, without customer complaints on record, offering parts
-- of one of 8 sizes that are not of BRAND nor of a type starting with TYPE, per brand, type
-- and size, most suppliers first.
{%- set tpch = var('tpch') %}
{%- set brand = tpch_param('q16_brand') %}
{%- set type_pattern = tpch_param('q16_type', suffix='%') %}
{%- set sizes = tpch['q16_sizes'] | map('int') | join(', ') %}

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

wanted_parts as (

    select
        part_key,
        brand,
        part_type,
        part_size
    from parts
    where brand <> {{ brand }}
        and part_type not like {{ type_pattern }}
        and part_size in ({{ sizes }})

),

complained_about_suppliers as (

    select supplier_key
    from suppliers
    where supplier_comment like '%Customer%Complaints%'

),

supplier_counts as (

    select
        wanted_parts.brand,
        wanted_parts.part_type,
        wanted_parts.part_size,
        count(distinct part_supply.supplier_key) as supplier_count
    from part_supply
    inner join wanted_parts
        on part_supply.part_key = wanted_parts.part_key
    where not exists (
            select 1
            from complained_about_suppliers
            where complained_about_suppliers.supplier_key = part_supply.supplier_key
        )
    group by wanted_parts.brand, wanted_parts.part_type, wanted_parts.part_size

)

select * from supplier_counts
order by supplier_count desc, brand asc, part_type asc, part_size asc
