-- One row per customer, with the nation and region they are in.
with

customers as (
    select * from {{ ref('stg_tpch__customer') }}
),

geography as (
    select * from {{ ref('dim_geography') }}
),

final as (
    select
        customers.customer_key,
        customers.customer_name,
        customers.customer_address,
        customers.customer_phone,
        customers.account_balance,
        customers.market_segment,
        customers.customer_comment,
        geography.nation_key,
        geography.nation_name,
        geography.region_key,
        geography.region_name
    from customers
    inner join geography on customers.nation_key = geography.nation_key
)

select * from final
