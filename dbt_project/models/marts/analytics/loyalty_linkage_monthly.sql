-- Loyalty linkage (KPIS.md): per month, the logo churn rate by the NPS category of each
-- customer's latest scored response before the month (by CSAT band where NPS was not delivered),
-- and the repeat-purchase rate by the CSI band of each buyer's latest response with a CSI before
-- the month (by CSAT band where CSI was not delivered) (bands from the seed
-- analytics_thresholds: low below low_csi_threshold, high from csi_band_high_min). Every grid
-- month has a row for every group (empty groups: rate NULL, counts 0).
with

customer_months as (

    select * from {{ ref('fct_customer_months') }}

),

orders as (

    select * from {{ ref('int_orders_classified') }}

),

months as (

    select * from {{ ref('int_months') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

delivered_columns as (

    select * from {{ ref('stg_deployment__delivered_columns') }}

),

groupings as (

    -- one row: the grouping of each KPI by what was delivered. Churn by NPS category, else by
    -- CSAT band; repeat purchase by CSI band (all three CSI items), else by CSAT band; a reason
    -- when neither measure was delivered
    select
        case
            when sum(case when column_name = 'likelihood_to_recommend' then 1 else 0 end) > 0
                then 'nps_category'
            when sum(case when column_name = 'csat_score' then 1 else 0 end) > 0
                then 'csat_band'
        end as churn_grouping,
        case
            when
                sum(
                    case
                        when
                            column_name in (
                                'overall_satisfaction', 'expectation_confirmation',
                                'ideal_comparison'
                            )
                            then 1
                        else 0
                    end
                ) = 3
                then 'csi_band'
            when sum(case when column_name = 'csat_score' then 1 else 0 end) > 0
                then 'csat_band'
        end as repeat_grouping
    from delivered_columns
    where entity = 'survey_responses'

),

active_customer_months as (

    select
        customer_months.customer_id,
        customer_months.month_start_date,
        months.month_start_at,
        customer_months.is_churned
    from customer_months
    inner join months
        on customer_months.month_start_date = months.month_start_date
    where customer_months.is_active_at_start

),

buyer_months as (

    select
        orders.customer_id,
        orders.month_start_date,
        months.month_start_at,
        count(*) as valid_orders
    from orders
    inner join months
        on orders.month_start_date = months.month_start_date
    where orders.is_valid
    group by orders.customer_id, orders.month_start_date, months.month_start_at

),

scored_responses as (

    -- each response with its group for each KPI and whether it has that KPI's measure (NPS, else
    -- CSAT for churn; CSI, else CSAT for repeat purchase)
    select
        responses.response_id,
        responses.customer_id,
        responses.submitted_at,
        case
            when groupings.churn_grouping = 'nps_category' then responses.nps_category
            when responses.is_csat_satisfied then 'satisfied'
            when responses.csat_score <= parameters.low_csat_max_score then 'low'
            else 'neutral'
        end as churn_group,
        case
            when groupings.repeat_grouping = 'csi_band'
                then
                    case
                        when responses.csi_score < parameters.low_csi_threshold then 'low'
                        when responses.csi_score < parameters.csi_band_high_min then 'medium'
                        else 'high'
                    end
            when responses.is_csat_satisfied then 'satisfied'
            when responses.csat_score <= parameters.low_csat_max_score then 'low'
            else 'neutral'
        end as repeat_group,
        coalesce(
            (groupings.churn_grouping = 'nps_category' and responses.nps_category is not null)
            or (groupings.churn_grouping = 'csat_band' and responses.csat_score is not null),
            false
        ) as has_churn_measure,
        coalesce(
            (groupings.repeat_grouping = 'csi_band' and responses.csi_score is not null)
            or (groupings.repeat_grouping = 'csat_band' and responses.csat_score is not null),
            false
        ) as has_repeat_measure
    from {{ ref('int_survey_responses_scored') }} as responses
    cross join groupings
    cross join parameters

),

response_intervals as (

    -- each response with the time of the same customer's next response with the same KPI's
    -- measure: the response is that KPI's latest one for the months starting after it and up to
    -- the next (an interval join, not a ranking of all earlier responses). One sort for both KPIs,
    -- each taking the next row that has its measure. Read by both KPIs' CTEs, so DuckDB
    -- materialises it: still faster than a window per KPI over its own responses (1.0-1.1 -> 0.8 s
    -- for the model at 1M responses, the same rows). `lead`, not the least time over every later
    -- row: the window alone took 4.1 -> 2.5 s at 10M responses
    select
        customer_id,
        submitted_at,
        churn_group,
        repeat_group,
        has_churn_measure,
        has_repeat_measure,
        {{ lead_ignoring_nulls('case when has_churn_measure then submitted_at end') }}
            over later_responses as next_churn_submitted_at,
        {{ lead_ignoring_nulls('case when has_repeat_measure then submitted_at end') }}
            over later_responses as next_repeat_submitted_at
    from scored_responses
    -- before the window: the responses with neither measure are not sorted
    where has_churn_measure or has_repeat_measure
    window later_responses as (
        partition by customer_id
        order by submitted_at, response_id
    )

),

churn_responses as (

    select
        customer_id,
        submitted_at,
        churn_group as nps_category,
        next_churn_submitted_at as next_submitted_at
    from response_intervals
    where has_churn_measure

),

repeat_responses as (

    select
        customer_id,
        submitted_at,
        repeat_group as band,
        next_repeat_submitted_at as next_submitted_at
    from response_intervals
    where has_repeat_measure

),

churn_members as (

    select
        active_customer_months.month_start_date,
        coalesce(churn_responses.nps_category, 'no_response') as group_value,
        case when active_customer_months.is_churned then 1 else 0 end as numerator_count
    from active_customer_months
    left join churn_responses
        on
            active_customer_months.customer_id = churn_responses.customer_id
            and {{ is_latest_before('churn_responses', 'active_customer_months.month_start_at') }}

),

repeat_members as (

    select
        buyer_months.month_start_date,
        coalesce(repeat_responses.band, 'no_response') as group_value,
        case when buyer_months.valid_orders >= 2 then 1 else 0 end as numerator_count
    from buyer_months
    left join repeat_responses
        on
            buyer_months.customer_id = repeat_responses.customer_id
            and {{ is_latest_before('repeat_responses', 'buyer_months.month_start_at') }}

),

members as (

    select
        'logo_churn_rate' as kpi,
        'nps_category' as grouping,
        month_start_date,
        group_value,
        numerator_count
    from churn_members
    union all
    select
        'repeat_purchase_rate' as kpi,
        'csi_band' as grouping,
        month_start_date,
        group_value,
        numerator_count
    from repeat_members

),

totals as (

    select
        kpi,
        month_start_date,
        group_value,
        -- bigint on every engine (a sum of integers is HUGEINT on DuckDB, BIGINT on Spark)
        cast(sum(numerator_count) as bigint) as numerator_count,
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
