-- The MetricFlow time spine: one row per UTC day, 2015-01-01 to 2039-12-31. MetricFlow joins to it
-- for time-based joins and aggregations (configured as a time spine in _semantic__time_spine.yml).
with

days as (

    {{ dbt.date_spine('day', "cast('2015-01-01' as date)", "cast('2040-01-01' as date)") }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
