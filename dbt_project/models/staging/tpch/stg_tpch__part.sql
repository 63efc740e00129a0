-- Parts that suppliers sell. One row per p_partkey, business column names, exact types.
with

source as (
    {{ committed_rows('tpch', 'part', 'p_partkey') }}
),

renamed as (
    select
        p_partkey as part_key,
        p_name as part_name,
        p_mfgr as manufacturer,
        p_brand as brand,
        p_type as part_type,
        p_size as part_size,
        p_container as container,
        cast(p_retailprice as decimal(15, 2)) as retail_price,
        p_comment as part_comment
    from source
)

select * from renamed
