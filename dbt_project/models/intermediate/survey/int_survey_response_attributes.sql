-- Every scored response x every slice attribute of the seed slice_attributes: the response's own
-- value (entity survey_responses) or its customer's current value (entity customers); `unknown`
-- when missing, so every response falls in exactly one value of each attribute and the attribute
-- slices of kpi_monthly add up to the all-up total. Empty when the seed names no attribute.
with

responses as (

    select * from {{ ref('int_survey_responses_scored') }}

),

response_attributes as (

    select * from {{ ref('stg_survey__response_attributes') }}

),

customer_attributes as (

    select * from {{ ref('stg_crm__customer_attributes') }}

),

attributes as (

    select
        entity,
        label as attribute_name
    from {{ ref('slice_attributes') }}

),

final as (

    select
        responses.response_id,
        attributes.attribute_name,
        coalesce(
            response_attributes.attribute_value, customer_attributes.attribute_value, 'unknown'
        ) as attribute_value
    from responses
    cross join attributes
    left join response_attributes
        on
            attributes.entity = 'survey_responses'
            and responses.response_id = response_attributes.response_id
            and attributes.attribute_name = response_attributes.attribute_name
    left join customer_attributes
        on
            attributes.entity = 'customers'
            and responses.customer_id = customer_attributes.customer_id
            and attributes.attribute_name = customer_attributes.attribute_name

)

select * from final
