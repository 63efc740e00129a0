-- nycflights13.flights: one row per origin, time_hour, carrier, flight; snake_case names, exact types.
with

source as (
    {{ committed_rows('nycflights13', 'flights', ['origin', 'time_hour', 'carrier', 'flight']) }}
),

renamed as (
    select
        year,
        month,
        day,
        dep_time,
        sched_dep_time,
        dep_delay,
        arr_time,
        sched_arr_time,
        arr_delay,
        carrier,
        flight,
        tailnum,
        origin,
        dest,
        air_time,
        distance,
        hour,
        minute,
        time_hour
    from source
)

select * from renamed
