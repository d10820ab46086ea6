{#- The body of a model-level column test (not_null_columns, accepted_values_columns, the not-null
    part of key_and_not_null_columns): one scan of `model` counts, for each column of `conditions`
    (column -> SQL condition a row fails), the rows that fail it; one row per column with failing
    rows, named `column_name` and `count_name`. -#}
-- noqa: disable=LT02
-- (sqlfluff misplaces the indent of loops in a macro's body; the same body in a test block passes)
{% macro rows_failing_per_column(model, conditions, count_name) %}

with

failing_counts as (

    select
        {% for column, condition in conditions.items() %}
            sum(case when {{ condition }} then 1 else 0 end) as {{ column }}
            {{- "," if not loop.last }}
        {% endfor %}
    from {{ model }}

),

per_column as (

    {% for column in conditions %}
        select
            '{{ column }}' as column_name,
            {{ column }} as {{ count_name }}
        from failing_counts
        {{ "union all" if not loop.last }}
    {% endfor %}

)

select * from per_column
where {{ count_name }} > 0

{% endmacro %}

{#- The conditions of rows_failing_per_column for a not-null test of `column_names`. -#}
{% macro null_conditions(column_names) %}
    {%- set conditions = {} -%}
    {%- for column in column_names -%}
        {%- do conditions.update({column: column ~ " is null"}) -%}
    {%- endfor -%}
    {{- return(conditions) -}}
{% endmacro %}
