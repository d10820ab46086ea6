-- At-risk customers: one row per active customer (an active subscription at the as-of time, or a
-- valid order in the active window before it) with the reasons that put them at risk, a risk
-- score (sum of the seed weights of the reasons that apply), and the account manager and store
-- who should act. Keys and ids only: no names, e-mails or phones. Each signal and its reasons has
-- its own model (int_customer_risk_<signal>, one row per CRM customer); this model only combines
-- them: who is active, the score and level, and the keys.
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

customers_current as (

    select * from {{ ref('int_customers_current') }}

),

response_signals as (

    select * from {{ ref('int_customer_risk_responses') }}

),

complaint_signals as (

    select * from {{ ref('int_customer_risk_complaints') }}

),

order_signals as (

    select * from {{ ref('int_customer_risk_orders') }}

),

subscription_signals as (

    select * from {{ ref('int_customer_risk_subscriptions') }}

),

as_of as (

    select as_of_at from {{ ref('int_calendar_bounds') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

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

customer_flags as (

    select
        customers.customer_id,
        customers.store_id,
        customers.account_manager_id,
        coalesce(customers_current.segment, 'unknown') as segment,
        coalesce(customers_current.region, 'unknown') as region,
        as_of.as_of_at,
        subscription_signals.is_subscriber,
        order_signals.last_valid_order_at,
        response_signals.latest_response_at,
        response_signals.latest_nps_category,
        response_signals.latest_csi_score,
        response_signals.consecutive_low_responses,
        complaint_signals.open_complaints_past_sla,
        order_signals.recent_valid_orders,
        order_signals.baseline_valid_orders,
        subscription_signals.subscription_ends_at,
        response_signals.has_latest_response_low,
        response_signals.has_consecutive_low_responses,
        response_signals.low_response_null_reason,
        complaint_signals.has_open_complaint_past_sla,
        order_signals.has_falling_order_frequency,
        subscription_signals.has_subscription_ending_soon
    from customers
    cross join as_of
    left join customers_current
        on customers.customer_id = customers_current.customer_id
    inner join response_signals
        on customers.customer_id = response_signals.customer_id
    inner join complaint_signals
        on customers.customer_id = complaint_signals.customer_id
    inner join order_signals
        on customers.customer_id = order_signals.customer_id
    inner join subscription_signals
        on customers.customer_id = subscription_signals.customer_id
    -- active customers only: a subscription active at the as-of time, or a recent valid order
    where subscription_signals.is_subscriber or order_signals.active_window_valid_orders > 0

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
