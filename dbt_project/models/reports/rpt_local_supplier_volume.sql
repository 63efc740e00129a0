-- Local supplier volume (TPC-H Q5): how much revenue came from sales where customer and
-- supplier are of the same nation? Per nation of REGION, for orders placed in the year
-- starting at DATE, largest revenue first.
{%- set region = tpch_param('q5_region') %}
{%- set year_start = tpch_param('q5_date') %}

with

customers as (

    select * from {{ ref('dim_customer') }}

),

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

local_sales as (

    select
        suppliers.nation_name,
        order_lines.net_revenue as revenue
    from order_lines
    inner join customers
        on order_lines.customer_key = customers.customer_key
    inner join suppliers
        on order_lines.supplier_key = suppliers.supplier_key
            and customers.nation_key = suppliers.nation_key
    where suppliers.region_name = {{ region }}
        and order_lines.order_date >= date {{ year_start }}
        and order_lines.order_date < date {{ year_start }} + interval '1' year
        -- implied by the order date range; lets Spark read only the year's month partitions
        and order_lines.order_month > date {{ year_start }} - interval '1' month
        and order_lines.order_month < date {{ year_start }} + interval '1' year

),

revenue_by_nation as (

    select
        nation_name,
        sum(revenue) as revenue
    from local_sales
    group by nation_name

)

select * from revenue_by_nation
order by revenue desc
