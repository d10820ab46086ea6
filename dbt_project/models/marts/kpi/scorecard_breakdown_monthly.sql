-- Every KPI per month sliced by one slicing column (segment, region, channel, touchpoint or
-- category; kpi_monthly's rows with the four others and the attribute at `all`), scored against
-- the all-customer target of the month (scorecard_monthly): the scorecard's breakdown tables and
-- bar charts colour a slice by this status, so the RAG rule (macro rag_status) runs in SQL only.
-- A slice is not sample-checked: its status is green, amber, red or no_data (a small slice shows
-- its sample size instead).
with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

scorecard_monthly as (

    select * from {{ ref('scorecard_monthly') }}

),

slices as (

    select
        month_start_date,
        kpi,
        case
            when segment <> 'all' then 'segment'
            when region <> 'all' then 'region'
            when channel <> 'all' then 'channel'
            when touchpoint <> 'all' then 'touchpoint'
            else 'category'
        end as slice_column,
        case
            when segment <> 'all' then segment
            when region <> 'all' then region
            when channel <> 'all' then channel
            when touchpoint <> 'all' then touchpoint
            else category
        end as slice_value,
        value as actual,
        sample_size
    from kpi_monthly
    where
        attribute_name = 'all'
        -- exactly one slicing column holds a value (kpi_monthly slices by at most one)
        and (
            case when segment <> 'all' then 1 else 0 end
            + case when region <> 'all' then 1 else 0 end
            + case when channel <> 'all' then 1 else 0 end
            + case when touchpoint <> 'all' then 1 else 0 end
            + case when category <> 'all' then 1 else 0 end
        ) = 1

),

final as (

    select
        slices.month_start_date,
        slices.kpi,
        slices.slice_column,
        slices.slice_value,
        slices.actual,
        slices.sample_size,
        scorecard_monthly.target,
        scorecard_monthly.direction,
        scorecard_monthly.amber_tolerance,
        scorecard_monthly.unit,
        {{ rag_status(
            'slices.actual', 'scorecard_monthly.target', 'scorecard_monthly.direction',
            'scorecard_monthly.amber_tolerance'
        ) }} as status
    from slices
    inner join scorecard_monthly
        on
            slices.month_start_date = scorecard_monthly.month_start_date
            and slices.kpi = scorecard_monthly.kpi

)

select * from final
