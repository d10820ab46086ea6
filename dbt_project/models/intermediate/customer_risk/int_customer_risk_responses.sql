-- Survey signals of customer_risk, one row per CRM customer: the latest response up to the as-of
-- time and the low responses in a row ending with it. Reasons latest_response_low and
-- consecutive_low_responses; which measures make a response low is int_low_response_rules (so a
-- CSAT-only or NPS-only programme works), and with no satisfaction measure delivered both reasons
-- are NULL with low_response_null_reason rather than false.
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

responses as (

    select * from {{ ref('int_analytics_responses') }}

),

as_of as (

    select as_of_at from {{ ref('int_calendar_bounds') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

low_rules as (

    select * from {{ ref('int_low_response_rules') }}

),

ranked_responses as (

    select
        responses.customer_id,
        responses.submitted_at,
        responses.nps_category,
        responses.csi_score,
        responses.is_low_response,
        responses.is_latest_low_response,
        row_number() over (
            partition by responses.customer_id
            order by responses.submitted_at desc, responses.response_id desc
        ) as recency_rank
    from responses
    cross join as_of
    where
        responses.customer_id is not null
        and responses.submitted_at <= as_of.as_of_at

),

response_summary as (

    select
        customer_id,
        max(case when recency_rank = 1 then submitted_at end) as latest_response_at,
        max(case when recency_rank = 1 then nps_category end) as latest_nps_category,
        max(case when recency_rank = 1 then csi_score end) as latest_csi_score,
        max(case when recency_rank = 1 and is_latest_low_response then 1 else 0 end) = 1
            as has_latest_response_low,
        -- responses up to the first one that is not low, counting from the latest
        coalesce(
            min(case when not is_low_response then recency_rank end) - 1, count(*)
        ) as consecutive_low_responses
    from ranked_responses
    group by customer_id

),

final as (

    select
        customers.customer_id,
        response_summary.latest_response_at,
        response_summary.latest_nps_category,
        response_summary.latest_csi_score,
        case
            when low_rules.low_measures_null_reason is null
                then coalesce(response_summary.consecutive_low_responses, 0)
        end as consecutive_low_responses,
        case
            when low_rules.low_measures_null_reason is null
                then coalesce(response_summary.has_latest_response_low, false)
        end as has_latest_response_low,
        case
            when low_rules.low_measures_null_reason is null
                then coalesce(
                        response_summary.consecutive_low_responses
                        >= parameters.consecutive_low_min,
                        false
                    )
        end as has_consecutive_low_responses,
        low_rules.low_measures_null_reason as low_response_null_reason
    from customers
    cross join parameters
    cross join low_rules
    left join response_summary
        on customers.customer_id = response_summary.customer_id

)

select * from final
