-- Every published KPI value lies in the range KPIS.md gives it.
with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

ranges as (

    select
        month_start_date,
        kpi,
        segment,
        region,
        channel,
        touchpoint,
        category,
        value,
        case
            when kpi = 'nps' then -100
            when kpi = 'ces' then 1
            when kpi like 'servqual_gap%' then -6
            else 0
        end as min_value,
        case
            when kpi = 'nps' then 100
            when kpi = 'ces' then 7
            when kpi like 'servqual_gap%' then 6
            when
                kpi in (
                    'complaint_volume', 'complaint_rate', 'backlog',
                    'first_response_hours_median', 'first_response_hours_p90',
                    'resolution_hours_median', 'resolution_hours_p90'
                )
                then null
            else 100
        end as max_value
    from kpi_monthly

),

final as (

    select * from ranges
    where
        value < min_value
        or value > max_value

)

select * from final
