{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_customer_month_scope(in_loyalty_member_scope('month_start_date', 'customer_id')) }}"
) }}
-- The customers each loyalty-linkage KPI (KPIS.md) counts in a month, with their group: for the
-- logo churn rate every customer active at the start of the month, grouped by their latest
-- response with the grouping's measure before the month (int_loyalty_groupings: NPS category, else
-- CSAT band); for the repeat-purchase rate every customer with a valid order in the month, grouped
-- by their latest response with a CSI before the month (else CSAT band); `no_response` without
-- one. loyalty_linkage_monthly counts them by month and group. A customer's rows read only that
-- customer's grid rows, orders and responses, so an incremental build (DuckDB) recomputes the
-- customers whose rows, orders or responses were delivered since, and the grid's new months
-- (in_loyalty_member_scope), instead of every customer's every month (DECISIONLOG.md, "The loyalty
-- linkage by customer").
{%- set scoped = is_incremental() and last_build_watermark() is not none %}
with

customer_months as (

    select * from {{ ref('fct_customer_months') }}
    where {{ in_loyalty_member_scope('month_start_date', 'customer_id') }}

),

orders as (

    select * from {{ ref('int_orders_classified') }}
    where {{ in_loyalty_member_scope('month_start_date', 'customer_id') }}

),

months as (

    select * from {{ ref('int_months') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

groupings as (

    select * from {{ ref('int_loyalty_groupings') }}

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

responses as (

    select * from {{ ref('int_survey_responses_scored') }}
    {%- if scoped %}
        -- only the customers whose months are recomputed: their rows read no other responses
        where
            customer_id in (
                select active_customer_months.customer_id from active_customer_months
                union all
                select buyer_months.customer_id from buyer_months
            )
    {%- endif %}

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
    from responses
    cross join groupings
    cross join parameters

),

response_intervals as (

    -- each response with the time of the same customer's next response with the same KPI's
    -- measure: the response is that KPI's latest one for the months starting after it and up to
    -- the next (an interval join, not a ranking of all earlier responses). One sort for both KPIs,
    -- read by both KPIs' CTEs. The next row with the measure, not the least later time: a
    -- segment tree over every later row cost 4.1 s against 2.5 s at 10M responses, the same rows
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
        churn_group as group_value,
        next_churn_submitted_at as next_submitted_at
    from response_intervals
    where has_churn_measure

),

repeat_responses as (

    select
        customer_id,
        submitted_at,
        repeat_group as group_value,
        next_repeat_submitted_at as next_submitted_at
    from response_intervals
    where has_repeat_measure

),

churn_members as (

    select
        active_customer_months.customer_id,
        active_customer_months.month_start_date,
        'logo_churn_rate' as kpi,
        coalesce(churn_responses.group_value, 'no_response') as group_value,
        active_customer_months.is_churned as is_numerator
    from active_customer_months
    left join churn_responses
        on
            active_customer_months.customer_id = churn_responses.customer_id
            and {{ is_latest_before('churn_responses', 'active_customer_months.month_start_at') }}

),

repeat_members as (

    select
        buyer_months.customer_id,
        buyer_months.month_start_date,
        'repeat_purchase_rate' as kpi,
        coalesce(repeat_responses.group_value, 'no_response') as group_value,
        buyer_months.valid_orders >= 2 as is_numerator
    from buyer_months
    left join repeat_responses
        on
            buyer_months.customer_id = repeat_responses.customer_id
            and {{ is_latest_before('repeat_responses', 'buyer_months.month_start_at') }}

),

final as (

    select * from churn_members
    union all
    select * from repeat_members

)

select * from final
