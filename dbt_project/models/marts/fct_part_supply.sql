-- One row per part and supplier: the supplier's stock of the part and its unit cost.
with

part_supply as (
    select * from {{ ref('stg_tpch__partsupp') }}
),

final as (
    select
        part_key,
        supplier_key,
        available_quantity,
        supply_cost,
        part_supply_comment
    from part_supply
)

select * from final
