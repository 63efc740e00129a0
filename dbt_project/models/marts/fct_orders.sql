-- One row per order placed by a customer.
with

orders as (
    select * from {{ ref('stg_tpch__orders') }}
),

final as (
    select
        order_key,
        customer_key,
        order_status,
        total_price,
        order_date,
        order_priority,
        clerk,
        ship_priority,
        order_comment
    from orders
)

select * from final
