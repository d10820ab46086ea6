-- The all-up total of every KPI per month against its target (seed kpi_targets): actual, target,
-- variance (actual - target) and status (green = target met; amber = missed by no more than the
-- amber tolerance, in the KPI's unit; red otherwise; no_data when the actual or the target is
-- NULL; insufficient_sample when fewer observations than the KPI's minimum sample size, seed
-- kpi_min_sample_sizes, whatever the actual; the rule is the macro rag_status, shared with
-- scorecard_breakdown_monthly). null_reason says why there is no actual.
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

kpi_min_sample_sizes as (

    select * from {{ ref('kpi_min_sample_sizes') }}

),

totals as (

    select
        month_start_date,
        kpi,
        value as actual,
        sample_size,
        is_mature,
        null_reason
    from kpi_monthly
    where
        segment = 'all'
        and region = 'all'
        and channel = 'all'
        and touchpoint = 'all'
        and category = 'all'
        and attribute_name = 'all'

),

min_sample_sizes as (

    -- a `*` in the seed's kpi stands for any text; the largest minimum of the matches applies
    select
        kpi_names.kpi,
        max(kpi_min_sample_sizes.min_sample_size) as min_sample_size
    from (select distinct kpi from totals) as kpi_names
    inner join kpi_min_sample_sizes
        on kpi_names.kpi like replace(kpi_min_sample_sizes.kpi, '*', '%')
    group by kpi_names.kpi

),

all_up_targets as (

    select * from kpi_targets
    where
        coalesce(slice_column, 'all') = 'all'
        and coalesce(slice_value, 'all') = 'all'

),

pattern_targets as (

    -- a `*` in the seed's kpi stands for any text (servqual_gap_* covers a custom dimension); the
    -- exact name wins over a pattern, a longer pattern over a shorter one
    select
        kpi_names.kpi as kpi_name,
        all_up_targets.*,
        row_number() over (
            partition by kpi_names.kpi
            order by
                case when all_up_targets.kpi = kpi_names.kpi then 0 else 1 end,
                length(all_up_targets.kpi) desc
        ) as match_rank
    from (select distinct kpi from totals) as kpi_names
    inner join all_up_targets
        on kpi_names.kpi like replace(all_up_targets.kpi, '*', '%')
    where all_up_targets.month_start_date is null

),

default_targets as (

    select
        kpi_name as kpi,
        target,
        direction,
        amber_tolerance,
        unit
    from pattern_targets
    where match_rank = 1

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
        totals.is_mature,
        totals.null_reason,
        min_sample_sizes.min_sample_size
    from totals
    left join min_sample_sizes
        on totals.kpi = min_sample_sizes.kpi
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
        {{ kpi_round('actual - target', 4) }} as variance,
        {{ rag_status(
            'actual', 'target', 'direction', 'amber_tolerance',
            sample_size='sample_size', min_sample_size='min_sample_size'
        ) }} as status,
        direction,
        amber_tolerance,
        unit,
        sample_size,
        is_mature,
        min_sample_size,
        case
            when null_reason is not null then null_reason
            when target is null then 'no target in kpi_targets'
        end as null_reason
    from targeted

),

with_changes as (

    -- months are matched by calendar offset (not by row order), so a missing month gives NULL
    select
        final.*,
        previous_month.actual as previous_month_actual,
        {{ kpi_round('final.actual - previous_month.actual', 4) }} as change_vs_previous_month,
        same_month_last_year.actual as same_month_last_year_actual,
        {{ kpi_round('final.actual - same_month_last_year.actual', 4) }}
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
