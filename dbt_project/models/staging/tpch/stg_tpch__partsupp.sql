-- Which supplier sells which part, at what cost and with what stock. One row per ps_partkey and
-- ps_suppkey, business column names, exact types.
with

source as (
    {{ committed_rows('tpch', 'partsupp', ['ps_partkey', 'ps_suppkey']) }}
),

renamed as (
    select
        ps_partkey as part_key,
        ps_suppkey as supplier_key,
        ps_availqty as available_quantity,
        cast(ps_supplycost as decimal(15, 2)) as supply_cost,
        ps_comment as part_supply_comment
    from source
)

select * from renamed
