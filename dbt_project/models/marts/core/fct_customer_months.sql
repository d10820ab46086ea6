{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_customer_month_scope() }}"
) }}
-- Customer x month activity from subscriptions, for every grid month in which the customer had a
-- subscription overlapping the month: active at start / end, churned, MRR at start and end.
-- Whether a subscription is active at an instant is the macro is_subscription_active (the one
-- definition every mart uses), evaluated at the month's start and at its end (the next month's
-- start). Churned = active at the start of the month and not active at its end (so the last
-- subscription ended inside the month). Built here from the subscriptions, not from an
-- intermediate table of the same rows, so the grid (58M rows at 10M responses) is written once
-- (DECISIONLOG.md, "The customer x month grid, written once"). Incremental on DuckDB: the rows of
-- the customers in int_rebuild_subscribers and of grid months not built yet
-- (in_customer_month_scope).
with

subscriptions as (

    select * from {{ ref('stg_churn__subscriptions') }}

),

months as (

    select * from {{ ref('int_months') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

subscriptions_per_customer as (

    select
        customer_id,
        count(*) as subscriptions
    from subscriptions
    group by customer_id

),

single_subscriptions as (

    -- the subscriptions of customers with one (most): their months need no aggregate
    select subscriptions.*
    from subscriptions
    inner join subscriptions_per_customer
        on subscriptions.customer_id = subscriptions_per_customer.customer_id
    where subscriptions_per_customer.subscriptions = 1

),

other_subscriptions as (

    -- every other subscription, a NULL customer's too (grouped as before the split, never dropped)
    select subscriptions.*
    from subscriptions
    left join subscriptions_per_customer
        on subscriptions.customer_id = subscriptions_per_customer.customer_id
    where coalesce(subscriptions_per_customer.subscriptions, 0) <> 1

),

single_subscription_months as (

    {{ subscription_months('single_subscriptions', 'months', in_customer_month_scope(
        'months.month_start_date', 'single_subscriptions.customer_id'
    )) }}

),

other_subscription_months as (

    {{ subscription_months('other_subscriptions', 'months', in_customer_month_scope(
        'months.month_start_date', 'other_subscriptions.customer_id'
    )) }}

),

customer_months as (

    -- a customer with one subscription (most) has one row per month already: only the others'
    -- rows go through the aggregate (an aggregate over every customer month took most of this
    -- model's time); both halves have the aggregate's types (a sum of numeric(28,6) is
    -- decimal(38,6) on DuckDB and Spark)
    select
        subscription_months.customer_id,
        subscription_months.month_start_date,
        subscription_months.is_active_at_start = 1 as is_active_at_start,
        subscription_months.is_active_at_end = 1 as is_active_at_end,
        cast(coalesce(
            case when subscription_months.is_active_at_start = 1 then subscription_months.mrr end, 0
        ) as decimal(38, 6)) as mrr_at_start,
        cast(coalesce(
            case when subscription_months.is_active_at_end = 1 then subscription_months.mrr end, 0
        ) as decimal(38, 6)) as mrr_at_end,
        cast(1 as {{ dbt.type_bigint() }}) as subscription_count
    from single_subscription_months as subscription_months

    union all

    select
        subscription_months.customer_id,
        subscription_months.month_start_date,
        max(subscription_months.is_active_at_start) = 1 as is_active_at_start,
        max(subscription_months.is_active_at_end) = 1 as is_active_at_end,
        coalesce(sum(
            case when subscription_months.is_active_at_start = 1 then subscription_months.mrr end
        ), 0) as mrr_at_start,
        coalesce(sum(
            case when subscription_months.is_active_at_end = 1 then subscription_months.mrr end
        ), 0) as mrr_at_end,
        count(*) as subscription_count
    from other_subscription_months as subscription_months
    group by subscription_months.customer_id, subscription_months.month_start_date

),

final as (

    select
        {{ surrogate_key(['customer_months.customer_id', 'customer_months.month_start_date']) }}
            as customer_month_key,
        customers.customer_key,
        customer_months.customer_id,
        customer_months.month_start_date,
        customer_months.is_active_at_start,
        customer_months.is_active_at_end,
        customer_months.is_active_at_start
        and not customer_months.is_active_at_end as is_churned,
        not customer_months.is_active_at_start as is_new_in_month,
        customer_months.mrr_at_start,
        customer_months.mrr_at_end,
        case
            when customer_months.is_active_at_start and not customer_months.is_active_at_end
                then customer_months.mrr_at_start
            else 0
        end as churned_mrr,
        customer_months.subscription_count
    from customer_months
    inner join months
        on customer_months.month_start_date = months.month_start_date
    -- the customer version valid at the start of the month
    left join customers
        on
            customer_months.customer_id = customers.customer_id
            and months.month_start_at >= customers.effective_from_at
            and months.month_start_at < customers.effective_to_at

)

select * from final
