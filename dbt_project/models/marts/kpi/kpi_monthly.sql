{%- set slice_columns = ['segment', 'region', 'channel', 'touchpoint', 'category'] -%}
-- Every KPI of KPIS.md per month, for the all-up total and for each slice value of the KPI's
-- slicing columns (one slicing column per row, `all` in the others), on the full grid of months
-- x observed slice values. value is rounded to 4 decimals; NULL when its denominator is zero.
with

survey_kpis as (

    select * from {{ ref('int_kpi_survey_monthly') }}

),

order_kpis as (

    select * from {{ ref('int_kpi_orders_monthly') }}

),

churn_kpis as (

    select * from {{ ref('int_kpi_churn_monthly') }}

),

complaint_kpis as (

    select * from {{ ref('int_kpi_complaints_monthly') }}

),

unioned as (

    select * from survey_kpis
    union all
    select * from order_kpis
    union all
    select * from churn_kpis
    union all
    select * from complaint_kpis

),

final as (

    select
        month_start_date,
        kpi,
        {% for column in slice_columns %}
            case
                when slice_column = '{{ column }}' then slice_value else 'all'
            end as {{ column }},
        {% endfor %}
        round(kpi_value, 4) as value,
        numerator,
        denominator,
        sample_size,
        is_mature
    from unioned

)

select * from final
