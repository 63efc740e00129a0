-- Top supplier (TPC-H Q15): who was the best supplier of the quarter? The supplier(s) with the
-- largest revenue from lines shipped in the quarter starting at DATE (all of them on a tie).
{%- set quarter_start = dbt.string_literal(dbt.escape_single_quotes(var('tpch')['q15_date'] | string)) %}

with

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

supplier_revenue as (

    select
        supplier_key,
        sum(extended_price * (1 - discount)) as total_revenue
    from order_lines
    where ship_date >= date {{ quarter_start }}
        and ship_date < date {{ quarter_start }} + interval '3' month
    group by supplier_key

),

top_suppliers as (

    select
        suppliers.supplier_key,
        suppliers.supplier_name,
        suppliers.supplier_address,
        suppliers.supplier_phone,
        supplier_revenue.total_revenue
    from supplier_revenue
    inner join suppliers
        on supplier_revenue.supplier_key = suppliers.supplier_key
    where supplier_revenue.total_revenue = (select max(total_revenue) from supplier_revenue)

)

select * from top_suppliers
order by supplier_key
