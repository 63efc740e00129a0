-- nycflights13.weather: one row per origin, time_hour; snake_case names, exact types.
with

source as (
    {{ committed_rows('nycflights13', 'weather', ['origin', 'time_hour']) }}
),

renamed as (
    select
        origin,
        year,
        month,
        day,
        hour,
        cast(temp as decimal(5, 2)) as temp,
        cast(dewp as decimal(4, 2)) as dewp,
        cast(humid as decimal(5, 2)) as humid,
        wind_dir,
        cast(wind_speed as decimal(20, 16)) as wind_speed,
        cast(wind_gust as decimal(17, 15)) as wind_gust,
        cast(precip as decimal(3, 2)) as precip,
        pressure,
        cast(visib as decimal(4, 2)) as visib,
        time_hour
    from source
)

select * from renamed
