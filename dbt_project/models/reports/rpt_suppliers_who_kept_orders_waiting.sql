-- Suppliers who kept orders waiting (TPC-H Q21): which suppliers of a nation alone held up
-- multi-supplier orders? Per supplier of NATION, the number of its late lines on orders with
-- status F where other suppliers took part but none of them was late (100 rows, most first).
{%- set nation = tpch_param('q21_nation') %}

with

suppliers as (

    select * from {{ ref('dim_supplier') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

national_suppliers as (

    select
        supplier_key,
        supplier_name
    from suppliers
    where nation_name = {{ nation }}

),

fulfilled_orders as (

    select order_key
    from orders
    where order_status = 'F'

),

late_lines as (

    select
        order_key,
        supplier_key
    from order_lines
    where receipt_date > commit_date

),

waiting_lines as (

    select national_suppliers.supplier_name
    from late_lines
    inner join national_suppliers
        on late_lines.supplier_key = national_suppliers.supplier_key
    inner join fulfilled_orders
        on late_lines.order_key = fulfilled_orders.order_key
    where exists (
            select 1
            from order_lines as other_lines
            where other_lines.order_key = late_lines.order_key
                and other_lines.supplier_key <> late_lines.supplier_key
        )
        and not exists (
            select 1
            from late_lines as other_late_lines
            where other_late_lines.order_key = late_lines.order_key
                and other_late_lines.supplier_key <> late_lines.supplier_key
        )

),

waits_by_supplier as (

    select
        supplier_name,
        count(*) as num_wait
    from waiting_lines
    group by supplier_name

)

select * from waits_by_supplier
order by num_wait desc, supplier_name asc
limit 100
