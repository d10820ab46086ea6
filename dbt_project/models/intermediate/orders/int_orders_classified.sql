{#- Incremental by customer (macros/incremental_scope.sql): a row depends on its order and its buyer
    only (current segment and region, the rank among the buyer's orders), and every customer whose
    orders or attributes changed is in int_rebuild_customers, so the customers to rebuild are
    recomputed over all their orders and every other row stays as the previous build left it. Not
    by month as fct_orders, which reads it: a month to rebuild (the current one, in a daily
    delivery) held every buyer of that month, whose whole histories were ranked again unchanged. -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_rebuild_scope(in_rebuild_customers('customer_id'), 'order_id', keys_loaded_since(ref('stg_crm__orders'), 'order_id')) }}"
) }}
-- Orders with their validity (status not cancelled or refunded), the buyer's current segment and
-- region, the order channel as a KPI slice, and the rank of each valid order of the buyer.
with

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

customers_current as (

    select * from {{ ref('int_customers_current') }}

),

classified as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        {{ reporting_month('orders.ordered_at') }} as month_start_date,
        orders.status,
        coalesce(orders.status not in ('cancelled', 'refunded'), true) as is_valid,
        coalesce(customers_current.segment, 'unknown') as segment,
        coalesce(customers_current.region, 'unknown') as region,
        {{ slice_value('orders.channel') }} as channel,
        orders.store_id,
        orders.product_category,
        orders.amount,
        orders.currency
    from orders
    left join customers_current
        on orders.customer_id = customers_current.customer_id
    where {{ in_rebuild_customers('orders.customer_id') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id, is_valid
            order by ordered_at, order_id
        ) as rank_within_validity
    from classified

),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        month_start_date,
        status,
        is_valid,
        segment,
        region,
        channel,
        store_id,
        product_category,
        amount,
        currency,
        -- a window function gives a bigint on DuckDB, an int on Spark: the marts' type on both
        case
            when is_valid then cast(rank_within_validity as {{ dbt.type_bigint() }})
        end as valid_order_number
    from ranked

)

select * from final
