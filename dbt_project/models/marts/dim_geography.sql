-- One row per nation, folded with its region: the geography that customers and suppliers point at.
with

nations as (
    select * from {{ ref('stg_tpch__nation') }}
),

regions as (
    select * from {{ ref('stg_tpch__region') }}
),

final as (
    select
        nations.nation_key,
        nations.nation_name,
        regions.region_key,
        regions.region_name
    from nations
    inner join regions on nations.region_key = regions.region_key
)

select * from final
