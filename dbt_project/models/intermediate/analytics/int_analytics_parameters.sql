-- The thresholds of the customer-experience analytics (seed analytics_thresholds) as one row with
-- one column per parameter, so that the marts can cross join them.
with

thresholds as (

    select * from {{ ref('analytics_thresholds') }}

),

final as (

    select
        max(case when parameter = 'driver_min_sample' then value end) as driver_min_sample,
        max(case when parameter = 'driver_min_regression_sample' then value end)
            as driver_min_regression_sample,
        max(case when parameter = 'followup_window_hours' then value end)
            as followup_window_hours,
        max(case when parameter = 'low_csat_max_score' then value end) as low_csat_max_score,
        max(case when parameter = 'low_csi_threshold' then value end) as low_csi_threshold,
        max(case when parameter = 'consecutive_low_min' then value end) as consecutive_low_min,
        max(case when parameter = 'active_order_days' then value end) as active_order_days,
        max(case when parameter = 'recent_order_days' then value end) as recent_order_days,
        max(case when parameter = 'baseline_order_days' then value end) as baseline_order_days,
        max(case when parameter = 'min_baseline_orders' then value end) as min_baseline_orders,
        max(case when parameter = 'falling_order_ratio' then value end) as falling_order_ratio,
        max(case when parameter = 'subscription_ending_days' then value end)
            as subscription_ending_days,
        max(case when parameter = 'ranking_min_sample' then value end) as ranking_min_sample,
        max(case when parameter = 'risk_high_min_score' then value end) as risk_high_min_score,
        max(case when parameter = 'risk_medium_min_score' then value end) as risk_medium_min_score,
        max(case when parameter = 'csi_band_high_min' then value end) as csi_band_high_min
    from thresholds

)

select * from final
