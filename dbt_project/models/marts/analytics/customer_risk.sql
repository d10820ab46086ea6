-- At-risk customers: one row per active customer (an active subscription at the as-of time, or a
-- valid order in the active window before it) with the reasons that put them at risk, a risk
-- score (sum of the seed weights of the reasons that apply), and the account manager and store
-- who should act. Keys and ids only: no names, e-mails or phones.
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

customers_current as (

    select * from {{ ref('int_customers_current') }}

),

responses as (

    select * from {{ ref('int_analytics_responses') }}

),

complaints as (

    select * from {{ ref('int_analytics_complaints') }}

),

orders as (

    select * from {{ ref('int_orders_classified') }}

),

subscriptions as (

    select * from {{ ref('stg_churn__subscriptions') }}

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

risk_weights as (

    select * from {{ ref('analytics_risk_weights') }}

),

dim_customers as (

    select * from {{ ref('dim_customer') }}

),

stores as (

    select * from {{ ref('dim_store') }}

),

employees as (

    select * from {{ ref('dim_employee') }}

),

weights as (

    select
        coalesce(sum(case when reason = 'latest_response_low' then weight end), 0)
            as latest_response_low_weight,
        coalesce(sum(case when reason = 'consecutive_low_responses' then weight end), 0)
            as consecutive_low_responses_weight,
        coalesce(sum(case when reason = 'open_complaint_past_sla' then weight end), 0)
            as open_complaint_past_sla_weight,
        coalesce(sum(case when reason = 'falling_order_frequency' then weight end), 0)
            as falling_order_frequency_weight,
        coalesce(sum(case when reason = 'subscription_ending_soon' then weight end), 0)
            as subscription_ending_soon_weight
    from risk_weights

),

ranked_responses as (

    select
        responses.customer_id,
        responses.submitted_at,
        responses.nps_category,
        responses.csi_score,
        responses.is_detractor,
        responses.is_low_csi,
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

complaint_summary as (

    select
        complaints.customer_id,
        count(*) as open_complaints_past_sla
    from complaints
    cross join as_of
    where
        not complaints.is_resolved
        and complaints.opened_at <= as_of.as_of_at
        and {{ hours_between('complaints.opened_at', 'as_of.as_of_at') }}
        > coalesce(complaints.sla_resolution_hours, 0)
    group by complaints.customer_id

),

order_ages as (

    select
        orders.customer_id,
        orders.ordered_at,
        {{ hours_between('orders.ordered_at', 'as_of.as_of_at') }} / 24.0 as age_days
    from orders
    cross join as_of
    where orders.is_valid and orders.ordered_at <= as_of.as_of_at

),

order_summary as (

    select
        order_ages.customer_id,
        max(order_ages.ordered_at) as last_valid_order_at,
        sum(case when order_ages.age_days < parameters.active_order_days then 1 else 0 end)
            as active_window_valid_orders,
        sum(case when order_ages.age_days < parameters.recent_order_days then 1 else 0 end)
            as recent_valid_orders,
        sum(
            case
                when
                    order_ages.age_days >= parameters.recent_order_days
                    and order_ages.age_days
                    < parameters.recent_order_days + parameters.baseline_order_days
                    then 1
                else 0
            end
        ) as baseline_valid_orders
    from order_ages
    cross join parameters
    group by order_ages.customer_id

),

active_subscriptions as (

    select
        subscriptions.customer_id,
        subscriptions.ended_at,
        case
            when subscriptions.ended_at is null then null
            else {{ hours_between('as_of.as_of_at', 'subscriptions.ended_at') }}
        end as hours_to_end
    from subscriptions
    cross join as_of
    where
        subscriptions.started_at < as_of.as_of_at
        and (subscriptions.ended_at is null or subscriptions.ended_at >= as_of.as_of_at)

),

subscription_summary as (

    select
        active_subscriptions.customer_id,
        max(active_subscriptions.ended_at) as subscription_ends_at,
        -- every active subscription ends inside the window (none open-ended or outlasting it)
        sum(
            case
                when
                    active_subscriptions.hours_to_end is null
                    or active_subscriptions.hours_to_end > 24 * parameters.subscription_ending_days
                    then 1
                else 0
            end
        ) = 0 as has_subscription_ending_soon,
        max(case when active_subscriptions.ended_at is null then 1 else 0 end) = 1
            as has_open_ended_subscription
    from active_subscriptions
    cross join parameters
    group by active_subscriptions.customer_id

),

customer_flags as (

    select
        customers.customer_id,
        customers.store_id,
        customers.account_manager_id,
        coalesce(customers_current.segment, 'unknown') as segment,
        coalesce(customers_current.region, 'unknown') as region,
        as_of.as_of_at,
        subscription_summary.customer_id is not null as is_subscriber,
        order_summary.last_valid_order_at,
        response_summary.latest_response_at,
        response_summary.latest_nps_category,
        response_summary.latest_csi_score,
        case
            when low_rules.low_measures_null_reason is null
                then coalesce(response_summary.consecutive_low_responses, 0)
        end as consecutive_low_responses,
        coalesce(complaint_summary.open_complaints_past_sla, 0) as open_complaints_past_sla,
        coalesce(order_summary.recent_valid_orders, 0) as recent_valid_orders,
        coalesce(order_summary.baseline_valid_orders, 0) as baseline_valid_orders,
        case
            when not subscription_summary.has_open_ended_subscription
                then subscription_summary.subscription_ends_at
        end as subscription_ends_at,
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
        low_rules.low_measures_null_reason as low_response_null_reason,
        coalesce(complaint_summary.open_complaints_past_sla, 0) > 0
            as has_open_complaint_past_sla,
        coalesce(
            order_summary.baseline_valid_orders >= parameters.min_baseline_orders
            and order_summary.recent_valid_orders / parameters.recent_order_days
            < parameters.falling_order_ratio
            * order_summary.baseline_valid_orders / parameters.baseline_order_days,
            false
        ) as has_falling_order_frequency,
        coalesce(subscription_summary.has_subscription_ending_soon, false)
            as has_subscription_ending_soon
    from customers
    cross join as_of
    cross join parameters
    cross join low_rules
    left join customers_current
        on customers.customer_id = customers_current.customer_id
    left join response_summary
        on customers.customer_id = response_summary.customer_id
    left join complaint_summary
        on customers.customer_id = complaint_summary.customer_id
    left join order_summary
        on customers.customer_id = order_summary.customer_id
    left join subscription_summary
        on customers.customer_id = subscription_summary.customer_id
    where
        subscription_summary.customer_id is not null
        or coalesce(order_summary.active_window_valid_orders, 0) > 0

),

scored as (

    select
        customer_flags.*,
        case when customer_flags.has_latest_response_low then weights.latest_response_low_weight
            else 0
        end
        + case
            when customer_flags.has_consecutive_low_responses
                then weights.consecutive_low_responses_weight
            else 0
        end
        + case
            when customer_flags.has_open_complaint_past_sla
                then weights.open_complaint_past_sla_weight
            else 0
        end
        + case
            when customer_flags.has_falling_order_frequency
                then weights.falling_order_frequency_weight
            else 0
        end
        + case
            when customer_flags.has_subscription_ending_soon
                then weights.subscription_ending_soon_weight
            else 0
        end as risk_score,
        {{ dbt.concat([
            "case when customer_flags.has_latest_response_low"
            ~ " then ',latest_response_low' else '' end",
            "case when customer_flags.has_consecutive_low_responses"
            ~ " then ',consecutive_low_responses' else '' end",
            "case when customer_flags.has_open_complaint_past_sla"
            ~ " then ',open_complaint_past_sla' else '' end",
            "case when customer_flags.has_falling_order_frequency"
            ~ " then ',falling_order_frequency' else '' end",
            "case when customer_flags.has_subscription_ending_soon"
            ~ " then ',subscription_ending_soon' else '' end",
        ]) }} as reason_list
    from customer_flags
    cross join weights

),

final as (

    select
        dim_customers.customer_key,
        scored.customer_id,
        scored.segment,
        scored.region,
        stores.store_key,
        scored.store_id,
        account_managers.employee_key as account_manager_key,
        scored.account_manager_id,
        scored.as_of_at,
        scored.is_subscriber,
        scored.last_valid_order_at,
        scored.latest_response_at,
        scored.latest_nps_category,
        scored.latest_csi_score,
        scored.consecutive_low_responses,
        scored.open_complaints_past_sla,
        scored.recent_valid_orders,
        scored.baseline_valid_orders,
        scored.subscription_ends_at,
        scored.has_latest_response_low,
        scored.has_consecutive_low_responses,
        scored.has_open_complaint_past_sla,
        scored.has_falling_order_frequency,
        scored.has_subscription_ending_soon,
        scored.low_response_null_reason,
        cast(scored.risk_score as {{ type_double() }}) as risk_score,
        case
            when scored.risk_score >= parameters.risk_high_min_score then 'high'
            when scored.risk_score >= parameters.risk_medium_min_score then 'medium'
            when scored.risk_score > 0 then 'low'
            else 'none'
        end as risk_level,
        case
            when scored.reason_list <> ''
                then substr(scored.reason_list, 2)
        end as risk_reasons,
        scored.risk_score > 0 as is_at_risk
    from scored
    cross join parameters
    left join dim_customers
        on scored.customer_id = dim_customers.customer_id and dim_customers.is_current
    left join stores
        on scored.store_id = stores.store_id
    left join employees as account_managers
        on scored.account_manager_id = account_managers.employee_id

)

select * from final
