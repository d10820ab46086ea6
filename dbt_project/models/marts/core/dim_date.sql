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
        -- date parts are bigint on DuckDB, int on Spark: cast to the contract's type
        cast(extract(year from date_day) as {{ dbt.type_bigint() }}) as year_number,
        cast(extract(quarter from date_day) as {{ dbt.type_bigint() }}) as quarter_number,
        cast(extract(month from date_day) as {{ dbt.type_bigint() }}) as month_number,
        cast(extract(day from date_day) as {{ dbt.type_bigint() }}) as day_of_month,
        -- 1900-01-01 was a Monday: ISO day of week, 1 = Monday .. 7 = Sunday
        cast(
            mod({{ dbt.datediff("cast('1900-01-01' as date)", 'date_day', 'day') }}, 7) + 1
            as {{ dbt.type_bigint() }}
        ) as iso_day_of_week,
        date_day = cast(
            {{ dbt.dateadd(
                'day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', 'date_day'))
            ) }} as date
        ) as is_month_end
    from days

)

select * from final
