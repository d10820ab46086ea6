-- retention_rate = 100 - logo_churn_rate for every month and slice.
with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

churn as (

    select * from kpi_monthly
    where kpi = 'logo_churn_rate'

),

retention as (

    select * from kpi_monthly
    where kpi = 'retention_rate'

),

final as (

    select
        churn.month_start_date,
        churn.segment,
        churn.region,
        churn.value as churn_value,
        retention.value as retention_value
    from churn
    full outer join retention
        on
            churn.month_start_date = retention.month_start_date
            and churn.segment = retention.segment
            and churn.region = retention.region
    where
        churn.kpi is null
        or retention.kpi is null
        or (churn.value is null) <> (retention.value is null)
        or abs(100 - churn.value - retention.value) > 0.0002

)

select * from final
