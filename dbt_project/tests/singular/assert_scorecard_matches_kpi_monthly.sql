-- The scorecard has one row per month and KPI of kpi_monthly, its actual is the all-up value, and
-- every KPI has a target. In Dagster it is a check of scorecard_monthly (it reads two models).
{{ config(meta={'dagster': {'ref': {'name': 'scorecard_monthly'}}}) }}

with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

scorecard as (

    select * from {{ ref('scorecard_monthly') }}

),

totals as (

    select * from kpi_monthly
    where
        segment = 'all' and region = 'all' and channel = 'all'
        and touchpoint = 'all' and category = 'all' and attribute_name = 'all'

),

final as (

    select
        coalesce(totals.month_start_date, scorecard.month_start_date) as month_start_date,
        coalesce(totals.kpi, scorecard.kpi) as kpi,
        totals.value,
        scorecard.actual,
        scorecard.target
    from totals
    full outer join scorecard
        on
            totals.month_start_date = scorecard.month_start_date
            and totals.kpi = scorecard.kpi
    where
        totals.kpi is null
        or scorecard.kpi is null
        or scorecard.target is null
        or (totals.value is null) <> (scorecard.actual is null)
        or totals.value <> scorecard.actual

)

select * from final
