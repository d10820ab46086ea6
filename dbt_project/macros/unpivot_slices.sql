{#- One row per input row and KPI slice: the all-up total (`all`, `all`) plus one row per slicing
    column in `slice_columns`, with `slice_column` naming it and `slice_value` holding its value.
    `carry_columns` are copied through unchanged. -#}
{% macro unpivot_slices(from_relation, slice_columns, carry_columns) -%}
    select
        'all' as slice_column,
        'all' as slice_value,
        {{ carry_columns | join(', ') }}
    from {{ from_relation }}
    {%- for slice_column in slice_columns %}
    union all
    select
        '{{ slice_column }}' as slice_column,
        {{ slice_column }} as slice_value,
        {{ carry_columns | join(', ') }}
    from {{ from_relation }}
    {%- endfor %}
{%- endmacro %}
