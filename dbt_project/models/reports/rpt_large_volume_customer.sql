-- Large volume customer (TPC-H Q18): who places the largest orders? The 100 orders with a total
-- quantity above QUANTITY, most expensive first, with their customer.
{%- set min_quantity = var('tpch')['q18_quantity'] | int %}

with

customers as (

    select * from {{ ref('dim_customer') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

large_orders as (

    select order_key
    from order_lines
    group by order_key
    having sum(quantity) > {{ min_quantity }}

),

large_order_details as (

    select
        customers.customer_name,
        customers.customer_key,
        orders.order_key,
        orders.order_date,
        orders.total_price,
        sum(order_lines.quantity) as sum_quantity
    from orders
    inner join large_orders
        on orders.order_key = large_orders.order_key
    inner join customers
        on orders.customer_key = customers.customer_key
    inner join order_lines
        on orders.order_key = order_lines.order_key
    group by
        customers.customer_name,
        customers.customer_key,
        orders.order_key,
        orders.order_date,
        orders.total_price

)

select * from large_order_details
order by total_price desc, order_date asc
limit 100
