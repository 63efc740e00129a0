-- dim_supplier for broad access: the name pseudonymized (keyed HMAC-SHA256), the phone masked,
-- address and comment removed.
with

suppliers as (
    select * from {{ ref('dim_supplier') }}
),

final as (
    select
        supplier_key,
        {{ pseudonymize('supplier_name') }} as supplier_name_pseudonym,
        {{ mask_phone('supplier_phone') }} as supplier_phone_masked,
        nation_key,
        nation_name,
        region_key,
        region_name
    from suppliers
)

select * from final
