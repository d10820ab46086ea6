-- Subscription signals of customer_risk, one row per CRM customer: whether a subscription is
-- active at the as-of time (macro is_subscription_active, the definition churn and
-- fct_subscriptions use) and when the active ones end. Reason subscription_ending_soon: every
-- active subscription is scheduled to end within subscription_ending_days after the as-of time (a
-- customer with an open-ended subscription, or one outlasting the window, is staying).
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

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
    where {{ is_subscription_active(
        'subscriptions.started_at', 'subscriptions.ended_at', 'as_of.as_of_at'
    ) }}

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

final as (

    select
        customers.customer_id,
        subscription_summary.customer_id is not null as is_subscriber,
        case
            when not subscription_summary.has_open_ended_subscription
                then subscription_summary.subscription_ends_at
        end as subscription_ends_at,
        coalesce(subscription_summary.has_subscription_ending_soon, false)
            as has_subscription_ending_soon
    from customers
    left join subscription_summary
        on customers.customer_id = subscription_summary.customer_id

)

select * from final
