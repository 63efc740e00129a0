-- Returned item reporting (TPC-H Q10): which customers return the most? The 20 customers who
-- lost the most revenue to returned lines of orders placed in the quarter starting at DATE,
-- with their contact details.
{%- set quarter_start = tpch_param('q10_date') %}

with

customers as (

    select * from {{ ref('dim_customer') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

returned_lines as (

    select
        customer_key,
        net_revenue as revenue
    from order_lines
    where return_flag = 'R'
        and order_date >= date {{ quarter_start }}
        and order_date < date {{ quarter_start }} + interval '3' month
        -- implied by the order date range; lets Spark read only the quarter's month partitions
        and order_month > date {{ quarter_start }} - interval '1' month
        and order_month < date {{ quarter_start }} + interval '3' month

),

lost_revenue as (

    select
        customer_key,
        sum(revenue) as revenue
    from returned_lines
    group by customer_key

),

returning_customers as (

    select
        customers.customer_key,
        customers.customer_name,
        lost_revenue.revenue,
        customers.account_balance,
        customers.nation_name,
        customers.customer_address,
        customers.customer_phone,
        customers.customer_comment
    from lost_revenue
    inner join customers
        on lost_revenue.customer_key = customers.customer_key

)

select * from returning_customers
order by revenue desc
limit 20
