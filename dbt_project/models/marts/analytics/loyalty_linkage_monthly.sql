-- Loyalty linkage (KPIS.md): per month, the logo churn rate by the NPS category of each
-- customer's latest scored response before the month (by CSAT band where NPS was not delivered),
-- and the repeat-purchase rate by the CSI band of each buyer's latest response with a CSI before
-- the month (by CSAT band where CSI was not delivered) (bands from the seed
-- analytics_thresholds: low below low_csi_threshold, high from csi_band_high_min). The customers
-- and their groups are int_loyalty_members'; this model counts them. Every grid month has a row
-- for every group (empty groups: rate NULL, counts 0).
with

members as (

    select * from {{ ref('int_loyalty_members') }}

),

months as (

    select * from {{ ref('int_months') }}

),

groupings as (

    select * from {{ ref('int_loyalty_groupings') }}

),

totals as (

    select
        kpi,
        month_start_date,
        group_value,
        -- bigint on every engine (a sum of integers is HUGEINT on DuckDB, BIGINT on Spark)
        cast(sum(case when is_numerator then 1 else 0 end) as bigint) as numerator_count,
        count(*) as denominator_count
    from members
    group by kpi, month_start_date, group_value

),

groups as (

    -- every grouping a KPI can have; the delivered measures pick one (active_groups)
    select
        'logo_churn_rate' as kpi,
        'nps_category' as grouping,
        'promoter' as group_value,
        1 as group_order
    union all
    select
        'logo_churn_rate' as kpi,
        'nps_category' as grouping,
        'passive' as group_value,
        2 as group_order
    union all
    select
        'logo_churn_rate' as kpi,
        'nps_category' as grouping,
        'detractor' as group_value,
        3 as group_order
    union all
    select
        'logo_churn_rate' as kpi,
        'nps_category' as grouping,
        'no_response' as group_value,
        4 as group_order
    union all
    select
        'logo_churn_rate' as kpi,
        'csat_band' as grouping,
        'satisfied' as group_value,
        1 as group_order
    union all
    select
        'logo_churn_rate' as kpi,
        'csat_band' as grouping,
        'neutral' as group_value,
        2 as group_order
    union all
    select
        'logo_churn_rate' as kpi,
        'csat_band' as grouping,
        'low' as group_value,
        3 as group_order
    union all
    select
        'logo_churn_rate' as kpi,
        'csat_band' as grouping,
        'no_response' as group_value,
        4 as group_order
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csi_band' as grouping,
        'high' as group_value,
        1 as group_order
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csi_band' as grouping,
        'medium' as group_value,
        2 as group_order
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csi_band' as grouping,
        'low' as group_value,
        3 as group_order
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csi_band' as grouping,
        'no_response' as group_value,
        4 as group_order
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csat_band' as grouping,
        'satisfied' as group_value,
        1 as group_order
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csat_band' as grouping,
        'neutral' as group_value,
        2 as group_order
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csat_band' as grouping,
        'low' as group_value,
        3 as group_order
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csat_band' as grouping,
        'no_response' as group_value,
        4 as group_order

),

active_groups as (

    -- without any measure of a KPI's groupings, its groups keep the default grouping (NPS
    -- category, CSI band) and the rate is NULL with a reason
    select
        groups.kpi,
        groups.grouping,
        groups.group_value,
        groups.group_order,
        case
            when groups.kpi = 'logo_churn_rate' and groupings.churn_grouping is null
                then 'no satisfaction measure delivered (likelihood_to_recommend, csat_score)'
            when groups.kpi = 'repeat_purchase_rate' and groupings.repeat_grouping is null
                then 'no satisfaction measure delivered (CSI items, csat_score)'
        end as null_reason
    from groups
    cross join groupings
    where
        groups.grouping = case
            when groups.kpi = 'logo_churn_rate'
                then coalesce(groupings.churn_grouping, 'nps_category')
            else coalesce(groupings.repeat_grouping, 'csi_band')
        end

),

final as (

    select
        {{ surrogate_key(['months.month_start_date', 'groups.kpi', 'groups.group_value']) }}
            as loyalty_linkage_key,
        months.month_start_date,
        groups.kpi,
        groups.grouping,
        groups.group_value,
        groups.group_order,
        coalesce(totals.numerator_count, 0) as numerator_count,
        coalesce(totals.denominator_count, 0) as denominator_count,
        case
            when groups.null_reason is null
                then 100.0 * {{ safe_divide('totals.numerator_count', 'totals.denominator_count') }}
        end as rate_pct,
        groups.null_reason
    from months
    cross join active_groups as groups
    left join totals
        on
            months.month_start_date = totals.month_start_date
            and groups.kpi = totals.kpi
            and groups.group_value = totals.group_value

)

select * from final
