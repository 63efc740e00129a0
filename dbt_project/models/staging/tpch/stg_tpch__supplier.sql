-- Suppliers of parts. One row per s_suppkey, business column names, exact types.
with

source as (
    {{ committed_rows('tpch', 'supplier', 's_suppkey') }}
),

renamed as (
    select
        s_suppkey as supplier_key,
        s_name as supplier_name,
        s_address as supplier_address,
        s_nationkey as nation_key,
        s_phone as supplier_phone,
        cast(s_acctbal as decimal(15, 2)) as account_balance,
        s_comment as supplier_comment
    from source
)

select * from renamed
