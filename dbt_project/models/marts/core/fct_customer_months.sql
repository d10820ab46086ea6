{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_customer_month_scope() }}"
) }}
-- Customer x month activity from subscriptions (every grid month in which the customer had a
-- subscription overlapping the month): active at start / end, churned, MRR at start and end.
-- Incremental on DuckDB, with the scope of int_customer_months (in_customer_month_scope).
with

customer_months as (

    select * from {{ ref('int_customer_months') }}

),

months as (

    select * from {{ ref('int_months') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

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
        customer_months.is_churned,
        customer_months.is_new_in_month,
        customer_months.mrr_at_start,
        customer_months.mrr_at_end,
        customer_months.churned_mrr,
        customer_months.subscription_count
    from customer_months
    inner join months
        on customer_months.month_start_date = months.month_start_date
    left join customers
        on
            customer_months.customer_id = customers.customer_id
            and months.month_start_at >= customers.effective_from_at
            and months.month_start_at < customers.effective_to_at
    where {{ in_customer_month_scope(
        'customer_months.month_start_date', 'customer_months.customer_id'
    ) }}

)

select * from final
