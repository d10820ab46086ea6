-- The headline view of the scorecard for BI tools: every KPI of scorecard_monthly in the latest
-- complete month, with target, variance, status and the changes against the previous month and
-- the same month last year (in the KPI's unit). A BI tool cannot express "the latest complete
-- month" as a filter (ad-hoc filters refuse sub-queries), so the mart holds exactly that month.
-- A month is complete when it ended at or before the build time (the publication follows the
-- build) and every delivered event source's data covers it to its last day (data_completeness):
-- the same rule as the HTML scorecard (scorecard/data.py choose_month). When no month is
-- complete yet, the latest month is shown with is_month_complete = false.
with

scorecard_monthly as (

    select * from {{ ref('scorecard_monthly') }}

),

data_completeness as (

    select * from {{ ref('data_completeness') }}

),

complete_until as (

    select min(latest_complete_month_start_date) as month_start_date
    from data_completeness
    where is_delivered

),

months as (

    select
        scorecard_monthly.month_start_date,
        cast(
            {{ dbt.dateadd('month', 1, 'scorecard_monthly.month_start_date') }}
            as {{ dbt.type_timestamp() }}
        )
        <= cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }})
        and (
            complete_until.month_start_date is null
            or scorecard_monthly.month_start_date <= complete_until.month_start_date
        ) as is_month_complete
    from scorecard_monthly
    cross join complete_until
    group by scorecard_monthly.month_start_date, complete_until.month_start_date

),

chosen_month as (

    select
        coalesce(
            max(case when is_month_complete then month_start_date end),
            max(month_start_date)
        ) as month_start_date
    from months

),

final as (

    select
        scorecard_monthly.month_start_date,
        months.is_month_complete,
        scorecard_monthly.kpi,
        scorecard_monthly.actual,
        scorecard_monthly.target,
        scorecard_monthly.variance,
        scorecard_monthly.status,
        scorecard_monthly.direction,
        scorecard_monthly.amber_tolerance,
        scorecard_monthly.unit,
        scorecard_monthly.sample_size,
        scorecard_monthly.min_sample_size,
        scorecard_monthly.null_reason,
        cast(
            {{ dbt.dateadd('month', -1, 'scorecard_monthly.month_start_date') }} as date
        ) as previous_month_start_date,
        scorecard_monthly.previous_month_actual,
        scorecard_monthly.change_vs_previous_month,
        cast(
            {{ dbt.dateadd('month', -12, 'scorecard_monthly.month_start_date') }} as date
        ) as same_month_last_year_start_date,
        scorecard_monthly.same_month_last_year_actual,
        scorecard_monthly.change_vs_same_month_last_year
    from scorecard_monthly
    inner join chosen_month
        on scorecard_monthly.month_start_date = chosen_month.month_start_date
    inner join months
        on scorecard_monthly.month_start_date = months.month_start_date

)

select * from final
