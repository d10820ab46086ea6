-- The months of the KPI grid, first to last, with their half-open UTC bounds.
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
        cast(month_start_date as {{ dbt.type_timestamp() }}) as month_start_at,
        cast({{ dbt.dateadd('month', 1, 'month_start_date') }} as {{ dbt.type_timestamp() }})
            as next_month_start_at
    from months

)

select * from final
