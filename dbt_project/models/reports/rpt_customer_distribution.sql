-- Customer distribution (TPC-H Q13): how many customers place how many orders? The number of
-- customers per number of orders they placed (orders whose comment mentions WORD1 ... WORD2
-- not counted; customers without orders count as 0).
{%- set tpch = var('tpch') %}
{%- set comment_pattern = quoted('%' ~ tpch['q13_word1'] ~ '%' ~ tpch['q13_word2'] ~ '%') %}

with

customers as (

    select * from {{ ref('dim_customer') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

counted_orders as (

    select
        order_key,
        customer_key
    from orders
    where order_comment not like {{ comment_pattern }}

),

orders_per_customer as (

    select
        customers.customer_key,
        count(counted_orders.order_key) as order_count
    from customers
    left join counted_orders
        on customers.customer_key = counted_orders.customer_key
    group by customers.customer_key

),

customer_distribution as (

    select
        order_count,
        count(*) as customer_count
    from orders_per_customer
    group by order_count

)

select * from customer_distribution
order by customer_count desc, order_count desc
