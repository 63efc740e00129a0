-- Forecasting revenue change (TPC-H Q6): how much more revenue would there have been without
-- the small discounts? The revenue given away on lines shipped in the year starting at DATE
-- with a discount of DISCOUNT +/- 0.01 and a quantity below QUANTITY.
{%- set tpch = var('tpch') %}
{%- set year_start = tpch_param('q6_date') %}
{%- set discount = tpch['q6_discount'] | float %}
{%- set quantity = tpch['q6_quantity'] | int %}

with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

discounted_lines as (

    select
        extended_price,
        discount
    from order_lines
    where ship_date >= date {{ year_start }}
        and ship_date < date {{ year_start }} + interval '1' year
        and discount between {{ discount }} - 0.01 and {{ discount }} + 0.01
        and quantity < {{ quantity }}

),

revenue_change as (

    select sum(extended_price * discount) as revenue
    from discounted_lines

)

select * from revenue_change
