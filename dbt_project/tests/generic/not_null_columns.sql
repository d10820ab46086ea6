{#- Fails for every listed column that holds a NULL, with the number of NULL rows: dbt's `not_null`
    for several columns in one scan and one test node (a test per column cost a node's fixed overhead
    and a scan each: 283 of them). Declared once per model, under the model's data_tests. -#}
{% test not_null_columns(model, column_names) %}

with

null_counts as (

    select
        {% for column in column_names %}
            sum(case when {{ column }} is null then 1 else 0 end) as {{ column }}
            {{- "," if not loop.last }}
        {% endfor %}
    from {{ model }}

),

per_column as (

    {% for column in column_names %}
        select
            '{{ column }}' as column_name,
            {{ column }} as null_rows
        from null_counts
        {{ "union all" if not loop.last }}
    {% endfor %}

)

select * from per_column
where null_rows > 0

{% endtest %}
