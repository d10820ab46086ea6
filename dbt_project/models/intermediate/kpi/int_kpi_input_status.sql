-- One row per KPI pattern of the seed kpi_inputs: why the KPI cannot be computed in this
-- deployment (NULL when every input is delivered). An input is an entity (column_name empty) or a
-- contract column of one; it is missing when the entity was never delivered, or when no delivered
-- file ever carried the column (raw.delivered_columns). A `*` in the pattern stands for any text
-- (servqual_gap_* covers every dimension's gap).
with

kpi_inputs as (

    select * from {{ ref('kpi_inputs') }}

),

entity_delivery as (

    select * from {{ ref('stg_deployment__entity_delivery') }}

),

delivered_columns as (

    select * from {{ ref('stg_deployment__delivered_columns') }}

),

checked as (

    select
        kpi_inputs.kpi as kpi_pattern,
        case
            when not coalesce(entity_delivery.is_delivered, false)
                then {{ dbt.concat(["'not delivered: '", 'kpi_inputs.entity']) }}
            when kpi_inputs.column_name is not null and delivered_columns.column_name is null
                then {{ dbt.concat([
                    "'column never delivered: '", 'kpi_inputs.entity', "'.'",
                    'kpi_inputs.column_name'
                ]) }}
        end as missing_input
    from kpi_inputs
    left join entity_delivery
        on kpi_inputs.entity = entity_delivery.entity
    left join delivered_columns
        on
            kpi_inputs.entity = delivered_columns.entity
            and kpi_inputs.column_name = delivered_columns.column_name

),

final as (

    select
        kpi_pattern,
        replace(kpi_pattern, '*', '%') as kpi_like,
        -- entity reasons sort before column reasons ('n' < 'c' is false, so rank explicitly)
        min(case when missing_input like 'not delivered%' then missing_input end) as entity_reason,
        min(case when missing_input like 'column%' then missing_input end) as column_reason
    from checked
    group by kpi_pattern

)

select
    kpi_pattern,
    kpi_like,
    coalesce(entity_reason, column_reason) as null_reason
from final
