{{ config(materialized='view', schema='semantic') }}
-- Semantic-layer grain of the repeat-purchase rate: one row per customer and month (reporting
-- time zone) with at least one valid order (status not cancelled or refunded), with the count of
-- valid orders. Buyers and repeat buyers (two or more valid orders in the month) are sums over
-- it. No mart has this grain; drop this model if one gets it.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

valid_orders as (

    select * from orders
    where is_valid

),

final as (

    select
        customer_id,
        month_start_date,
        max(customer_key) as customer_key,
        count(*) as valid_order_count,
        count(*) >= 2 as is_repeat_buyer
    from valid_orders
    group by customer_id, month_start_date

)

select * from final
