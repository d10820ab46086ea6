-- depends_on: {{ ref('fct_customer_months') }} (built after the customer x month fact, whose
-- incremental scope reads this table's previous build: int_rebuild_subscribers)
-- Subscriptions, one row per subscription, with the customer version valid at its start. is_active
-- is the one definition of an active subscription (macro is_subscription_active) at the marts'
-- as-of time (int_calendar_bounds: the latest thing that happened in the data, not the clock), so
-- a subscription with a scheduled end after it is active, as in churn and customer_risk.
with

subscriptions as (

    select * from {{ ref('stg_churn__subscriptions') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

as_of as (

    select as_of_at from {{ ref('int_calendar_bounds') }}

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
        {{ is_subscription_active(
            'subscriptions.started_at', 'subscriptions.ended_at', 'as_of.as_of_at'
        ) }} as is_active,
        subscriptions.mrr,
        subscriptions.cancel_reason,
        -- bigint on DuckDB, int on Spark: cast to the contract's type
        cast(
            {{ dbt.datediff('subscriptions.started_at', 'subscriptions.ended_at', 'day') }}
            as {{ dbt.type_bigint() }}
        ) as duration_days
    from subscriptions
    cross join as_of
    left join customers
        on
            subscriptions.customer_id = customers.customer_id
            and subscriptions.started_at >= customers.effective_from_at
            and subscriptions.started_at < customers.effective_to_at

)

select * from final
