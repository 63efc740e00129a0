-- One row per supplier, with the nation and region it ships from.
with

suppliers as (
    select * from {{ ref('stg_tpch__supplier') }}
),

geography as (
    select * from {{ ref('dim_geography') }}
),

final as (
    select
        suppliers.supplier_key,
        suppliers.supplier_name,
        suppliers.supplier_address,
        suppliers.supplier_phone,
        suppliers.account_balance,
        suppliers.supplier_comment,
        geography.nation_key,
        geography.nation_name,
        geography.region_key,
        geography.region_name
    from suppliers
    inner join geography on suppliers.nation_key = geography.nation_key
)

select * from final
