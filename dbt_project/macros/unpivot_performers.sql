{#- One row per input row and performer role that the row names: `performers` is a list of
    (performer_type, id column) pairs; rows whose id column is NULL are left out for that role.
    `carry_columns` are copied through unchanged. -#}
{% macro unpivot_performers(from_relation, performers, carry_columns) -%}
    {%- for performer_type, id_column in performers %}
        {{ 'union all' if not loop.first }}
        select
            '{{ performer_type }}' as performer_type,
            {{ id_column }} as performer_id,
            {{ carry_columns | join(', ') }}
        from {{ from_relation }}
        where {{ id_column }} is not null
    {%- endfor %}
{%- endmacro %}
