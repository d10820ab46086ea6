-- The months of the KPI grid, first to last, with their half-open bounds as UTC instants. Months
-- are calendar months of the reporting time zone (var reporting_time_zone): the bounds are the
-- UTC instants at which the local month starts and ends.
with

bounds as (

    select * from {{ ref('int_calendar_bounds') }}

),

numbers as (

    {{ generate_numbers(var('csat_max_months')) }}

),

months as (

    select
        cast({{ dbt.dateadd('month', 'numbers.n', 'bounds.first_month_start_date') }} as date)
            as month_start_date
    from bounds
    cross join numbers
    where
        numbers.n <= {{ dbt.datediff(
            'bounds.first_month_start_date', 'bounds.last_month_start_date', 'month'
        ) }}

),

final as (

    select
        month_start_date,
        {{ from_reporting_time(
            'cast(month_start_date as ' ~ dbt.type_timestamp() ~ ')'
        ) }} as month_start_at,
        {{ from_reporting_time(
            'cast(' ~ dbt.dateadd('month', 1, 'month_start_date') ~ ' as '
            ~ dbt.type_timestamp() ~ ')'
        ) }} as next_month_start_at
    from months

)

select * from final
