-- The all-up total of every KPI per month against its target (seed kpi_targets): actual, target,
-- variance (actual - target) and status (green = target met; amber = missed by no more than the
-- amber tolerance, in the KPI's unit; red otherwise; no_data when the actual is NULL).
-- It also holds the change against the previous month and the same month last year, in the KPI's
-- own unit (points for NPS, not a percentage), so every reader (HTML scorecard, BI tools) shows
-- the same numbers from one place.
with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

kpi_targets as (

    select * from {{ ref('kpi_targets') }}

),

totals as (

    select
        month_start_date,
        kpi,
        value as actual,
        sample_size,
        is_mature
    from kpi_monthly
    where
        segment = 'all'
        and region = 'all'
        and channel = 'all'
        and touchpoint = 'all'
        and category = 'all'

),

all_up_targets as (

    select * from kpi_targets
    where
        coalesce(slice_column, 'all') = 'all'
        and coalesce(slice_value, 'all') = 'all'

),

default_targets as (

    select * from all_up_targets
    where month_start_date is null

),

month_targets as (

    select * from all_up_targets
    where month_start_date is not null

),

targeted as (

    select
        totals.month_start_date,
        totals.kpi,
        totals.actual,
        coalesce(month_targets.target, default_targets.target) as target,
        coalesce(month_targets.direction, default_targets.direction) as direction,
        coalesce(month_targets.amber_tolerance, default_targets.amber_tolerance)
            as amber_tolerance,
        coalesce(month_targets.unit, default_targets.unit) as unit,
        totals.sample_size,
        totals.is_mature
    from totals
    left join default_targets
        on totals.kpi = default_targets.kpi
    left join month_targets
        on
            totals.kpi = month_targets.kpi
            and totals.month_start_date = month_targets.month_start_date

),

final as (

    select
        month_start_date,
        kpi,
        actual,
        target,
        round(actual - target, 4) as variance,
        case
            when actual is null then 'no_data'
            when target is null then 'no_data'
            when direction = 'higher_is_better' and actual >= target then 'green'
            when direction = 'lower_is_better' and actual <= target then 'green'
            when
                direction = 'higher_is_better' and actual >= target - amber_tolerance
                then 'amber'
            when
                direction = 'lower_is_better' and actual <= target + amber_tolerance
                then 'amber'
            else 'red'
        end as status,
        direction,
        amber_tolerance,
        unit,
        sample_size,
        is_mature
    from targeted

),

with_changes as (

    -- months are matched by calendar offset (not by row order), so a missing month gives NULL
    select
        final.*,
        previous_month.actual as previous_month_actual,
        round(final.actual - previous_month.actual, 4) as change_vs_previous_month,
        same_month_last_year.actual as same_month_last_year_actual,
        round(final.actual - same_month_last_year.actual, 4)
            as change_vs_same_month_last_year
    from final
    left join final as previous_month
        on
            final.kpi = previous_month.kpi
            and previous_month.month_start_date
            = cast({{ dbt.dateadd('month', -1, 'final.month_start_date') }} as date)
    left join final as same_month_last_year
        on
            final.kpi = same_month_last_year.kpi
            and same_month_last_year.month_start_date
            = cast({{ dbt.dateadd('month', -12, 'final.month_start_date') }} as date)

)

select * from with_changes
