-- Nations, each in one region. One row per n_nationkey, business column names, exact types.
with

source as (
    {{ committed_rows('tpch', 'nation', 'n_nationkey') }}
),

renamed as (
    select
        n_nationkey as nation_key,
        n_name as nation_name,
        n_regionkey as region_key,
        n_comment as nation_comment
    from source
)

select * from renamed
