-- Counts are 0 in empty groups, never NULL (NULL only when an input was not delivered);
-- medians and percentiles carry no numerator and denominator; is_mature is set for
-- repurchase_90d_rate only.
with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

final as (

    select * from kpi_monthly
    where
        (
            kpi in ('complaint_volume', 'backlog')
            and (
                (value is null and coalesce(null_reason, 'no data') like 'no data%')
                or denominator is not null
            )
        )
        or (
            kpi like '%hours_median' or kpi like '%hours_p90'
        ) and (numerator is not null or denominator is not null)
        or (kpi = 'repurchase_90d_rate' and is_mature is null)
        or (kpi <> 'repurchase_90d_rate' and is_mature is not null)
        or sample_size is null

)

select * from final
