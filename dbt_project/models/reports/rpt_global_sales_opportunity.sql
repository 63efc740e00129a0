-- Global sales opportunity (TPC-H Q22): where are the customers likely to buy again? Per country
-- code (first two digits of the phone number, one of 7 codes), the number and total balance of
-- customers who have not ordered for 7 years but have an account balance above the average
-- positive balance of those countries.
{%- set country_codes = [] %}
{%- for code in var('tpch')['q22_country_codes'] %}
{%- do country_codes.append(quoted(code)) %}
{%- endfor %}

with

customers as (

    select * from {{ ref('dim_customer') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

country_customers as (

    select
        customer_key,
        substring(customer_phone, 1, 2) as country_code,
        account_balance
    from customers
    where substring(customer_phone, 1, 2) in ({{ country_codes | join(', ') }})

),

average_positive_balance as (

    select avg(account_balance) as avg_balance
    from country_customers
    where account_balance > 0.00

),

dormant_customers as (

    select
        country_code,
        account_balance
    from country_customers
    where account_balance > (select average_positive_balance.avg_balance from average_positive_balance)
        and not exists (
            select 1
            from orders
            where orders.customer_key = country_customers.customer_key
        )

),

sales_opportunity as (

    select
        country_code,
        count(*) as num_customers,
        sum(account_balance) as total_account_balance
    from dormant_customers
    group by country_code

)

select * from sales_opportunity
order by country_code
