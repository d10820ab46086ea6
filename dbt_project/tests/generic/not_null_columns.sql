{#- Fails for every listed column that holds a NULL, with the number of NULL rows: dbt's `not_null`
    for several columns in one scan and one test node (a test per column cost a node's fixed overhead
    and a scan each: 283 of them). Declared once per model, under the model's data_tests. -#}
{% test not_null_columns(model, column_names) %}

    {{ rows_failing_per_column(model, null_conditions(column_names), "null_rows") }}

{% endtest %}
