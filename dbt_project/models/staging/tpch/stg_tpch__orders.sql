-- Orders placed by customers. One row per o_orderkey, business column names, exact types.
with

source as (
    {{ committed_rows('tpch', 'orders', 'o_orderkey') }}
),

renamed as (
    select
        o_orderkey as order_key,
        o_custkey as customer_key,
        o_orderstatus as order_status,
        cast(o_totalprice as decimal(15, 2)) as total_price,
        o_orderdate as order_date,
        o_orderpriority as order_priority,
        o_clerk as clerk,
        o_shippriority as ship_priority,
        o_comment as order_comment
    from source
)

select * from renamed
