{#- Fails for every listed column that holds values outside its list, with the number of such rows:
    dbt's `accepted_values` for all of a model's fixed enumerations in one scan and one test node.
    `columns` maps each column to its allowed values; NULL is not checked (as in dbt's test; the
    not-null test owns it). Enumerations a deployment may replace are seeds, checked by
    `accepted_values_from_seed` instead. -#}
{% test accepted_values_columns(model, columns) %}

with

unexpected_counts as (

    select
        {% for column, values in columns.items() %}
            sum(
                case
                    when {{ column }} not in ('{{ values | join("', '") }}') then 1 else 0
                end
            ) as {{ column }}
            {{- "," if not loop.last }}
        {% endfor %}
    from {{ model }}

),

per_column as (

    {% for column in columns %}
        select
            '{{ column }}' as column_name,
            {{ column }} as unexpected_rows
        from unexpected_counts
        {{ "union all" if not loop.last }}
    {% endfor %}

)

select * from per_column
where unexpected_rows > 0

{% endtest %}
