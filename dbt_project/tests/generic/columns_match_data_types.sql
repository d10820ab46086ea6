{#- The enforced contract of a model that cannot have one (a dbt Python model), checked after the
    build: one row per column whose name, position or type differs from the YAML `data_type`s
    (macro declared_type_mismatches). -#}
{% test columns_match_data_types(model) %}

    {%- set mismatches = declared_type_mismatches(model) %}

select
    0 as column_position,
    'none' as declared_column,
    'none' as actual_column
where 1 = 0
    {%- for position, declared_column, actual_column in mismatches %}
union all
select
    {{ position }} as column_position,
    '{{ declared_column }}' as declared_column,
    '{{ actual_column }}' as actual_column
{%- endfor %}

{% endtest %}
