-- Order signals of customer_risk, one row per CRM customer: valid orders in the active window
-- (a customer with one is active), in the recent window and in the history window before it, all
-- counted back from the as-of time. Reason falling_order_frequency: enough history orders
-- (min_baseline_orders) and a recent daily rate below falling_order_ratio times the history
-- daily rate. Windows and ratio: seed analytics_thresholds.
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

orders as (

    select * from {{ ref('int_orders_classified') }}

),

as_of as (

    select as_of_at from {{ ref('int_calendar_bounds') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

order_ages as (

    select
        orders.customer_id,
        orders.ordered_at,
        {{ hours_between('orders.ordered_at', 'as_of.as_of_at') }} / 24.0 as age_days
    from orders
    cross join as_of
    where orders.is_valid and orders.ordered_at <= as_of.as_of_at

),

order_summary as (

    select
        order_ages.customer_id,
        max(order_ages.ordered_at) as last_valid_order_at,
        -- counts as bigint on every engine (a sum of integers: HUGEINT on DuckDB, BIGINT on Spark)
        cast(
            sum(case when order_ages.age_days < parameters.active_order_days then 1 else 0 end)
            as bigint
        ) as active_window_valid_orders,
        cast(
            sum(case when order_ages.age_days < parameters.recent_order_days then 1 else 0 end)
            as bigint
        ) as recent_valid_orders,
        cast(sum(
            case
                when
                    order_ages.age_days >= parameters.recent_order_days
                    and order_ages.age_days
                    < parameters.recent_order_days + parameters.baseline_order_days
                    then 1
                else 0
            end
        ) as bigint) as baseline_valid_orders
    from order_ages
    cross join parameters
    group by order_ages.customer_id

),

final as (

    select
        customers.customer_id,
        order_summary.last_valid_order_at,
        coalesce(order_summary.active_window_valid_orders, 0) as active_window_valid_orders,
        coalesce(order_summary.recent_valid_orders, 0) as recent_valid_orders,
        coalesce(order_summary.baseline_valid_orders, 0) as baseline_valid_orders,
        coalesce(
            order_summary.baseline_valid_orders >= parameters.min_baseline_orders
            and order_summary.recent_valid_orders / parameters.recent_order_days
            < parameters.falling_order_ratio
            * order_summary.baseline_valid_orders / parameters.baseline_order_days,
            false
        ) as has_falling_order_frequency
    from customers
    cross join parameters
    left join order_summary
        on customers.customer_id = order_summary.customer_id

)

select * from final
