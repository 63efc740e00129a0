-- dim_customer for broad access: the name pseudonymized (keyed HMAC-SHA256), the phone masked,
-- address and comment removed.
with

customers as (
    select * from {{ ref('dim_customer') }}
),

final as (
    select
        customer_key,
        {{ pseudonymize('customer_name') }} as customer_name_pseudonym,
        {{ mask_phone('customer_phone') }} as customer_phone_masked,
        substr(customer_phone, 1, 2) as country_code,
        market_segment,
        nation_key,
        nation_name,
        region_key,
        region_name
    from customers
)

select * from final
