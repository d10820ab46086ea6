{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_in_scope(in_rebuild_customers('customer_id')) }}"
) }}
-- One row per customer with a valid order: the first valid order ever (the 90-day repurchase
-- cohort) and whether another valid order followed within 90 days of it. A customer's row reads
-- only their own orders (with their current segment and region), so it is incremental by customer
-- on DuckDB: the customers of int_rebuild_customers (orders delivered since, for their new and old
-- buyer; customers delivered since), whose orders int_orders_classified has just recomputed.
with

orders as (

    select * from {{ ref('int_orders_classified') }}
    where {{ in_rebuild_customers('customer_id') }}

),

valid_orders as (

    select * from orders
    where is_valid

),

first_orders as (

    select * from valid_orders
    where valid_order_number = 1

),

repurchases as (

    select
        first_orders.customer_id,
        count(*) as repurchase_count_90d
    from first_orders
    inner join valid_orders
        on
            first_orders.customer_id = valid_orders.customer_id
            and first_orders.order_id <> valid_orders.order_id
            and first_orders.ordered_at <= valid_orders.ordered_at
            and {{ dbt.dateadd('day', 90, 'first_orders.ordered_at') }}
            >= valid_orders.ordered_at
    group by first_orders.customer_id

),

final as (

    select
        first_orders.customer_id,
        first_orders.order_id as first_order_id,
        first_orders.ordered_at as first_ordered_at,
        first_orders.month_start_date as cohort_month_start_date,
        first_orders.segment,
        first_orders.region,
        coalesce(repurchases.repurchase_count_90d, 0) as repurchase_count_90d,
        coalesce(repurchases.repurchase_count_90d, 0) > 0 as has_repurchase_90d
    from first_orders
    left join repurchases
        on first_orders.customer_id = repurchases.customer_id

)

select * from final
