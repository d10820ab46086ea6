-- Every KPI of kpi_monthly matches a row of the seed kpi_inputs (so it can say when its inputs
-- are not delivered); a KPI added without its inputs fails here. In Dagster it is a check of
-- kpi_monthly (it reads a model and a seed).
{{ config(meta={'dagster': {'ref': {'name': 'kpi_monthly'}}}) }}

with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

kpi_inputs as (

    select * from {{ ref('kpi_inputs') }}

),

kpi_names as (

    select distinct kpi from kpi_monthly

),

final as (

    select kpi_names.kpi
    from kpi_names
    left join kpi_inputs
        on kpi_names.kpi like replace(kpi_inputs.kpi, '*', '%')
    group by kpi_names.kpi
    having count(kpi_inputs.kpi) = 0

)

select * from final
