-- Loyalty linkage (KPIS.md): per month, the logo churn rate by the NPS category of each
-- customer's latest scored response before the month (by CSAT band where NPS was not delivered),
-- and the repeat-purchase rate by the CSI band of each buyer's latest response with a CSI before
-- the month (by CSAT band where CSI was not delivered) (bands from the seed
-- analytics_thresholds: low below low_csi_threshold, high from csi_band_high_min). Every grid
-- month has a row for every group (empty groups: rate NULL, counts 0).
with

customer_months as (

    select * from {{ ref('int_customer_months') }}

),

orders as (

    select * from {{ ref('int_orders_classified') }}

),

responses as (

    select * from {{ ref('int_survey_responses_scored') }}

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

nps_history as (

    -- the latest response before the month with the grouping's measure (NPS, else CSAT)
    select
        active_customer_months.customer_id,
        active_customer_months.month_start_date,
        case
            when groupings.churn_grouping = 'nps_category' then responses.nps_category
            when responses.is_csat_satisfied then 'satisfied'
            when responses.csat_score <= parameters.low_csat_max_score then 'low'
            else 'neutral'
        end as nps_category,
        row_number() over (
            partition by active_customer_months.customer_id, active_customer_months.month_start_date
            order by responses.submitted_at desc, responses.response_id desc
        ) as recency_rank
    from active_customer_months
    cross join groupings
    cross join parameters
    inner join responses
        on
            active_customer_months.customer_id = responses.customer_id
            and active_customer_months.month_start_at > responses.submitted_at
            and (
                (groupings.churn_grouping = 'nps_category' and responses.nps_category is not null)
                or (groupings.churn_grouping = 'csat_band' and responses.csat_score is not null)
            )

),

csi_history as (

    -- the latest response before the month with the grouping's measure (CSI, else CSAT)
    select
        buyer_months.customer_id,
        buyer_months.month_start_date,
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
        end as band,
        row_number() over (
            partition by buyer_months.customer_id, buyer_months.month_start_date
            order by responses.submitted_at desc, responses.response_id desc
        ) as recency_rank
    from buyer_months
    cross join groupings
    cross join parameters
    inner join responses
        on
            buyer_months.customer_id = responses.customer_id
            and buyer_months.month_start_at > responses.submitted_at
            and (
                (groupings.repeat_grouping = 'csi_band' and responses.csi_score is not null)
                or (groupings.repeat_grouping = 'csat_band' and responses.csat_score is not null)
            )

),

churn_members as (

    select
        active_customer_months.month_start_date,
        coalesce(nps_history.nps_category, 'no_response') as group_value,
        case when active_customer_months.is_churned then 1 else 0 end as numerator_count
    from active_customer_months
    left join nps_history
        on
            active_customer_months.customer_id = nps_history.customer_id
            and active_customer_months.month_start_date = nps_history.month_start_date
            and nps_history.recency_rank = 1

),

repeat_members as (

    select
        buyer_months.month_start_date,
        coalesce(csi_history.band, 'no_response') as group_value,
        case when buyer_months.valid_orders >= 2 then 1 else 0 end as numerator_count
    from buyer_months
    left join csi_history
        on
            buyer_months.customer_id = csi_history.customer_id
            and buyer_months.month_start_date = csi_history.month_start_date
            and csi_history.recency_rank = 1

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
