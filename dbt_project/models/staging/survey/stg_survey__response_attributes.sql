-- Response-level slice attributes (seed slice_attributes, entity survey_responses): one row per
-- response (latest raw version) and attribute, the value read from the `_extra` JSON, in the form
-- the KPI slices use (trimmed, lower-cased, `unknown` when missing). Empty when the seed names
-- none.
with

source as (

    select
        response_id,
        _extra,
        row_number() over (
            partition by response_id
            order by _loaded_at desc, _row_number desc
        ) as version_rank
    from {{ source('survey', 'survey_responses') }}

),

attributes as (

    select
        attribute,
        label
    from {{ ref('slice_attributes') }}
    where entity = 'survey_responses'

),

final as (

    select
        nullif(trim(cast(source.response_id as {{ dbt.type_string() }})), '') as response_id,
        attributes.label as attribute_name,
        {{ slice_value(json_text('source._extra', 'attributes.attribute')) }}
            as attribute_value
    from source
    cross join attributes
    where source.version_rank = 1

)

select * from final
