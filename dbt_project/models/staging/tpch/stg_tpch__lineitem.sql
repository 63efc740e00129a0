-- Order lines: one part, quantity and price each. One row per l_orderkey and l_linenumber, business
-- column names, exact types.
with

source as (
    {{ committed_rows('tpch', 'lineitem', ['l_orderkey', 'l_linenumber']) }}
),

renamed as (
    select
        l_orderkey as order_key,
        l_partkey as part_key,
        l_suppkey as supplier_key,
        l_linenumber as line_number,
        cast(l_quantity as decimal(15, 2)) as quantity,
        cast(l_extendedprice as decimal(15, 2)) as extended_price,
        cast(l_discount as decimal(15, 2)) as discount,
        cast(l_tax as decimal(15, 2)) as tax,
        l_returnflag as return_flag,
        l_linestatus as line_status,
        l_shipdate as ship_date,
        l_commitdate as commit_date,
        l_receiptdate as receipt_date,
        l_shipinstruct as ship_instructions,
        l_shipmode as ship_mode,
        l_comment as line_comment
    from source
)

select * from renamed
