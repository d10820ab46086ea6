-- Subscriptions, one row per subscription, with the customer version valid at its start.
with

subscriptions as (

    select * from {{ ref('stg_churn__subscriptions') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

final as (

    select
        {{ surrogate_key(['subscriptions.subscription_id']) }} as subscription_key,
        subscriptions.subscription_id,
        customers.customer_key,
        subscriptions.customer_id,
        subscriptions.plan,
        subscriptions.started_at,
        {{ reporting_date('subscriptions.started_at') }} as started_date,
        subscriptions.ended_at,
        subscriptions.ended_at is null as is_active,
        subscriptions.mrr,
        subscriptions.cancel_reason,
        {{ dbt.datediff('subscriptions.started_at', 'subscriptions.ended_at', 'day') }}
            as duration_days
    from subscriptions
    left join customers
        on
            subscriptions.customer_id = customers.customer_id
            and subscriptions.started_at >= customers.effective_from_at
            and subscriptions.started_at < customers.effective_to_at

)

select * from final
