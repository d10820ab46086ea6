{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_rebuild_scope(in_rebuild_scope('month_start_date', 'customer_id'), 'order_id', keys_loaded_since(ref('stg_crm__orders'), 'order_id')) }}"
) }}
-- depends_on: {{ ref('stg_crm__orders') }} (the pre-hook's changed keys)
-- Orders, one row per order, with the conformed dimension keys (customer version valid when the
-- order was placed, store, order channel) and the validity and rank the commercial KPIs use.
with

orders as (

    select * from {{ ref('int_orders_classified') }}
    where {{ in_rebuild_scope('month_start_date', 'customer_id') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

stores as (

    select * from {{ ref('dim_store') }}

),

channels as (

    select * from {{ ref('dim_channel') }}

),

final as (

    select
        {{ order_key('orders.order_id') }} as order_key,
        orders.order_id,
        customers.customer_key,
        stores.store_key,
        channels.channel_key,
        orders.customer_id,
        orders.ordered_at,
        {{ reporting_date('orders.ordered_at') }} as ordered_date,
        orders.month_start_date,
        orders.status,
        orders.is_valid,
        orders.valid_order_number,
        coalesce(orders.valid_order_number = 1, false) as is_first_valid_order,
        orders.product_category,
        orders.amount,
        orders.currency
    from orders
    left join customers
        on
            orders.customer_id = customers.customer_id
            and orders.ordered_at >= customers.effective_from_at
            and orders.ordered_at < customers.effective_to_at
    left join stores
        on orders.store_id = stores.store_id
    left join channels
        on orders.channel = channels.channel

)

select * from final
