-- Top supplier (TPC-H Q15): who was the best supplier of the quarter? The supplier(s) with the
-- largest revenue from lines shipped in the quarter starting at DATE (all of them on a tie).
{%- set quarter_start = tpch_param('q15_date') %}

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
        sum(net_revenue) as total_revenue
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
    where supplier_revenue.total_revenue = (select max(best.total_revenue) from supplier_revenue as best)

)

select * from top_suppliers
order by supplier_key
