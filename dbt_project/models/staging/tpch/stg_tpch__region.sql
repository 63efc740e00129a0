-- Regions of the world; five in TPC-H. One row per r_regionkey, business column names, exact types.
with

source as (
    {{ committed_rows('tpch', 'region', 'r_regionkey') }}
),

renamed as (
    select
        r_regionkey as region_key,
        r_name as region_name,
        r_comment as region_comment
    from source
)

select * from renamed
