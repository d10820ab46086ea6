-- The all-up total of every KPI per month against its target (seed kpi_targets): actual, target,
-- variance (actual - target) and status (green = target met; amber = missed by no more than the
-- amber tolerance, in the KPI's unit; red otherwise; no_data when the actual is NULL).
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

)

select * from final
