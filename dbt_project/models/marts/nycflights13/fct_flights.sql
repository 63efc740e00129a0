-- One row per flight that left New York City in 2013, with its airline, plane, destination and the
-- weather at its airport in the scheduled hour: the table analysts of the example dataset start from.
with

flights as (
    select * from {{ ref('stg_nycflights13__flights') }}
),

airlines as (
    select * from {{ ref('stg_nycflights13__airlines') }}
),

planes as (
    select * from {{ ref('stg_nycflights13__planes') }}
),

airports as (
    select * from {{ ref('stg_nycflights13__airports') }}
),

weather as (
    select * from {{ ref('stg_nycflights13__weather') }}
),

final as (
    select
        flights.origin,
        flights.time_hour as scheduled_hour,
        flights.carrier,
        flights.flight,
        make_date(flights.year, flights.month, flights.day) as flight_date,
        airlines.name as airline_name,
        flights.tailnum,
        planes.manufacturer as plane_manufacturer,
        planes.year as plane_year,
        planes.seats as plane_seats,
        flights.dest,
        airports.name as destination_name,
        flights.distance as distance_miles,
        flights.air_time as air_time_minutes,
        flights.dep_delay as departure_delay_minutes,
        flights.arr_delay as arrival_delay_minutes,
        flights.dep_time is null as is_cancelled,
        coalesce(flights.arr_delay > 15, false) as is_late,
        weather.temp as origin_temperature_f,
        weather.wind_speed as origin_wind_speed_mph,
        weather.precip as origin_precipitation_inches,
        weather.visib as origin_visibility_miles
    from flights
    left join airlines on flights.carrier = airlines.carrier
    left join planes on flights.tailnum = planes.tailnum
    left join airports on flights.dest = airports.faa
    left join weather on flights.origin = weather.origin and flights.time_hour = weather.time_hour
)

select * from final
