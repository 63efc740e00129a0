-- One row per part sold.
with

parts as (
    select * from {{ ref('stg_tpch__part') }}
),

final as (
    select
        part_key,
        part_name,
        manufacturer,
        brand,
        part_type,
        part_size,
        container,
        retail_price,
        part_comment
    from parts
)

select * from final
