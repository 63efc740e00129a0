-- One row per calendar day, from the first order to the last receipt: the dates facts point at.
with

bounds as (
    select
        min(order_date) as first_day,
        max(order_date) as last_order_day
    from {{ ref('stg_tpch__orders') }}
),

last_receipt as (
    select max(receipt_date) as last_day from {{ ref('stg_tpch__lineitem') }}
),

days as (
    select
        explode(
            sequence(bounds.first_day, greatest(bounds.last_order_day, last_receipt.last_day), interval 1 day)
        ) as date_day
    from bounds
    cross join last_receipt
),

final as (
    select
        date_day,
        year(date_day) as year,
        quarter(date_day) as quarter,
        month(date_day) as month,
        date_format(date_day, 'MMMM') as month_name,
        cast(trunc(date_day, 'MM') as date) as month_start,
        dayofmonth(date_day) as day_of_month,
        -- ISO numbering: Monday is 1, Sunday is 7
        weekday(date_day) + 1 as day_of_week,
        date_format(date_day, 'EEEE') as day_name,
        weekofyear(date_day) as week_of_year,
        weekday(date_day) >= 5 as is_weekend
    from days
)

select * from final
