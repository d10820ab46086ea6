-- One row per calendar day, from the first day of the month of the earliest event in the
-- warehouse to the last day of the month of the latest.
with

bounds as (

    select * from {{ ref('int_calendar_bounds') }}

),

numbers as (

    {{ generate_numbers(var('csat_max_days')) }}

),

days as (

    select
        cast({{ dbt.dateadd('day', 'numbers.n', 'bounds.first_calendar_date') }} as date)
            as date_day
    from bounds
    cross join numbers
    where
        numbers.n <= {{ dbt.datediff(
            'bounds.first_calendar_date', 'bounds.last_calendar_date', 'day'
        ) }}

),

final as (

    select
        date_day,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start_date,
        cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start_date,
        extract(year from date_day) as year_number,
        extract(quarter from date_day) as quarter_number,
        extract(month from date_day) as month_number,
        extract(day from date_day) as day_of_month,
        -- 1900-01-01 was a Monday: ISO day of week, 1 = Monday .. 7 = Sunday
        mod({{ dbt.datediff("cast('1900-01-01' as date)", 'date_day', 'day') }}, 7) + 1
            as iso_day_of_week,
        date_day = cast(
            {{ dbt.dateadd(
                'day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', 'date_day'))
            ) }} as date
        ) as is_month_end
    from days

)

select * from final
