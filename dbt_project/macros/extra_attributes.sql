{#- Slice attributes of one entity (seed slice_attributes): one row per key (raw holds one per
    key) and attribute, the value read from the `_extra` JSON in the form the KPI slices use
    (trimmed, lower-cased, `unknown` when missing). Empty when the seed names none for the entity.
    The two staging models that read attributes (responses, customers) share this body. -#}
{% macro extra_attributes(raw_relation, key_column, entity) -%}
with

source as (

    select
        {{ key_column }},
        _extra
    from {{ raw_relation }}

),

attributes as (

    select
        attribute,
        label
    from {{ ref('slice_attributes') }}
    where entity = '{{ entity }}'

),

final as (

    select
        nullif(trim(cast(source.{{ key_column }} as {{ dbt.type_string() }})), '') as {{ key_column }},
        attributes.label as attribute_name,
        {{ slice_value(json_text('source._extra', 'attributes.attribute')) }}
            as attribute_value
    from source
    cross join attributes

)

select * from final
{%- endmacro %}
