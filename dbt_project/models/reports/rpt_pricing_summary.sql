-- Pricing summary report (TPC-H Q1): how much business was billed, shipped and returned.
-- For every line item shipped up to DELTA days before 1998-12-01, per return flag and line
-- status: the quantity, base price, discounted price and charge (with tax), their averages and
-- the number of lines.
{%- set delta_days = var('tpch')['q1_delta_days'] | int %}

with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

shipped_lines as (

    select *
    from order_lines
    where ship_date <= date '1998-12-01' - interval '{{ delta_days }}' day

),

pricing_summary as (

    select
        return_flag,
        line_status,
        sum(quantity) as sum_qty,
        sum(extended_price) as sum_base_price,
        sum(net_revenue) as sum_disc_price,
        sum(net_revenue * (1 + tax)) as sum_charge,
        avg(quantity) as avg_qty,
        avg(extended_price) as avg_price,
        avg(discount) as avg_disc,
        count(*) as count_order
    from shipped_lines
    group by return_flag, line_status

)

select * from pricing_summary
order by return_flag, line_status
