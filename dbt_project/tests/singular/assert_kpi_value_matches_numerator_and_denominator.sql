-- value is what numerator and denominator say: 100 * n / d for rates and nps, 1000 * n / d for
-- complaint_rate, n / d for means, n for counts; NULL exactly when the denominator is zero.
-- KPIs whose inputs were not delivered are NULL whatever the counts (null_reason says why).
with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

expected as (

    select
        *,
        case
            when kpi in ('complaint_volume', 'backlog') then numerator
            when denominator is null or denominator = 0 then null
            when kpi = 'complaint_rate' then 1000.0 * numerator / denominator
            when
                kpi in ('ces', 'csi')
                or kpi like 'servqual_gap%'
                or kpi like 'perception_score%'
                then numerator / denominator
            else 100.0 * numerator / denominator
        end as expected_value
    from kpi_monthly
    where
        kpi not in (
            'first_response_hours_median', 'first_response_hours_p90',
            'resolution_hours_median', 'resolution_hours_p90'
        )
        and coalesce(null_reason, 'no data') like 'no data%'

),

final as (

    select * from expected
    where
        (value is null and expected_value is not null)
        or (value is not null and expected_value is null)
        or abs(value - expected_value) > 0.00005 + 1e-9

)

select * from final
