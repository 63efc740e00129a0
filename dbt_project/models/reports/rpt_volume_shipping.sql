-- Volume shipping (TPC-H Q7): how much is shipped between two nations? The revenue of lines
-- shipped in 1995 and 1996 from suppliers of one nation to customers of the other, in both
-- directions, per supplier nation, customer nation and year of shipment.
{%- set nation1 = tpch_param('q7_nation1') %}
{%- set nation2 = tpch_param('q7_nation2') %}

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

shipping as (

    select
        suppliers.nation_name as supplier_nation,
        customers.nation_name as customer_nation,
        extract(year from order_lines.ship_date) as ship_year,
        order_lines.net_revenue as volume
    from order_lines
    inner join suppliers
        on order_lines.supplier_key = suppliers.supplier_key
    inner join customers
        on order_lines.customer_key = customers.customer_key
    where (
        (suppliers.nation_name = {{ nation1 }} and customers.nation_name = {{ nation2 }})
        or (suppliers.nation_name = {{ nation2 }} and customers.nation_name = {{ nation1 }})
    )
    and order_lines.ship_date between date '1995-01-01' and date '1996-12-31'

),

volume_by_year as (

    select
        supplier_nation,
        customer_nation,
        ship_year,
        sum(volume) as revenue
    from shipping
    group by supplier_nation, customer_nation, ship_year

)

select * from volume_by_year
order by supplier_nation, customer_nation, ship_year
