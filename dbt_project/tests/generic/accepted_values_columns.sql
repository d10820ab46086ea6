{#- Fails for every listed column that holds values outside its list, with the number of such rows:
    dbt's `accepted_values` for all of a model's fixed enumerations in one scan and one test node.
    `columns` maps each column to its allowed values; NULL is not checked (as in dbt's test; the
    not-null test owns it). Enumerations a deployment may replace are seeds, checked by
    `accepted_values_from_seed` instead. -#}
{% test accepted_values_columns(model, columns) %}

    {%- set conditions = {} -%}
    {%- for column, values in columns.items() -%}
        {%- do conditions.update({column: column ~ " not in ('" ~ values | join("', '") ~ "')"}) -%}
    {%- endfor -%}
    {{ rows_failing_per_column(model, conditions, "unexpected_rows") }}

{% endtest %}
