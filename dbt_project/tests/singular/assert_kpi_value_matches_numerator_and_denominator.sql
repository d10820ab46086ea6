-- value is what numerator and denominator say: 100 * n / d for rates and nps, 1000 * n / d for
-- complaint_rate, n / d for means, n for counts; NULL exactly when the denominator is zero.
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
                kpi in (
                    'ces', 'csi', 'servqual_gap', 'servqual_gap_weighted',
                    'servqual_gap_tangibles', 'servqual_gap_reliability',
                    'servqual_gap_responsiveness', 'servqual_gap_assurance',
                    'servqual_gap_empathy'
                )
                then numerator / denominator
            else 100.0 * numerator / denominator
        end as expected_value
    from kpi_monthly
    where
        kpi not in (
            'first_response_hours_median', 'first_response_hours_p90',
            'resolution_hours_median', 'resolution_hours_p90'
        )

),

final as (

    select * from expected
    where
        (value is null and expected_value is not null)
        or (value is not null and expected_value is null)
        or abs(value - expected_value) > 0.00005 + 1e-9

)

select * from final
