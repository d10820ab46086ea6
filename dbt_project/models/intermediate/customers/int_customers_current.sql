-- Current segment and region of every CRM customer (latest raw version), in the form the KPI
-- slices use: trimmed, lower-cased, `unknown` when missing.
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

final as (

    select
        customer_id,
        {{ slice_value('segment') }} as segment,
        {{ slice_value('region') }} as region
    from customers

)

select * from final
