{#- Enum text as the marts use it: trimmed, lower-cased, NULL when empty. -#}
{% macro clean_enum(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- Slice value for a KPI group: a cleaned enum, `unknown` when NULL or empty. -#}
{% macro slice_value(column) -%}
    coalesce(nullif(lower(trim({{ column }})), ''), 'unknown')
{%- endmacro %}
