{%- set slice_columns = ['segment', 'region', 'channel', 'touchpoint', 'category'] -%}
{#- the slices that are not attribute slices, as a SQL list: 'all' and slice_columns -#}
{%- set standard_slices = "'all', '" ~ slice_columns | join("', '") ~ "'" -%}
-- Every KPI of KPIS.md per month, for the all-up total and for each slice value of the KPI's
-- slicing columns (one slicing column per row, `all` in the others), on the full grid of months
-- x observed slice values. Survey KPIs are also sliced by the attributes of the seed
-- slice_attributes (attribute_name / attribute_value, the five fixed columns `all`; `all` on every
-- other row, so a total is `all` in all seven). value is rounded to 4 decimals; NULL when its
-- denominator is zero, and NULL (never 0) when an input of the KPI was not delivered
-- (int_kpi_input_status); null_reason says why a value is NULL.
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

input_status as (

    select * from {{ ref('int_kpi_input_status') }}

),

kpi_names as (

    select distinct kpi from unioned

),

kpi_input_status as (

    select
        kpi_names.kpi,
        min(input_status.null_reason) as input_null_reason
    from kpi_names
    left join input_status
        on kpi_names.kpi like input_status.kpi_like
    group by kpi_names.kpi

),

final as (

    select
        unioned.month_start_date,
        unioned.kpi,
        {% for column in slice_columns %}
            case
                when unioned.slice_column = '{{ column }}' then unioned.slice_value else 'all'
            end as {{ column }},
        {% endfor %}
        -- an attribute slice of the seed slice_attributes (survey KPIs only): its label and value;
        -- every other slice_column is `all` or one of slice_columns
        case
            when unioned.slice_column in ({{ standard_slices }}) then 'all'
            else unioned.slice_column
        end as attribute_name,
        case
            when unioned.slice_column in ({{ standard_slices }}) then 'all'
            else unioned.slice_value
        end as attribute_value,
        case
            when kpi_input_status.input_null_reason is null
                then {{ kpi_round('unioned.kpi_value', 4) }}
        end as value,
        unioned.numerator,
        unioned.denominator,
        unioned.sample_size,
        unioned.is_mature,
        coalesce(
            kpi_input_status.input_null_reason,
            case when unioned.kpi_value is null then 'no data in the group' end
        ) as null_reason
    from unioned
    inner join kpi_input_status
        on unioned.kpi = kpi_input_status.kpi

)

select * from final
