{#- Fails for each listed column that holds a NULL and for a key (one column or several) whose value
    is held by more than one row, NULLs comparing equal: one row per broken rule, with `rule`
    (`not_null` or `unique`), `column_name` (the key's columns, comma-separated) and `failing_rows`
    (the rows holding a NULL, or sharing their key with another row). A model's key and its required
    columns in one test node: each node costs dbt's fixed overhead (DECISIONLOG "A model's key and
    required columns in one test"). -#}
{% test key_and_not_null_columns(model, key, column_names) %}

with

null_counts as (

    {{ rows_failing_per_column(model, null_conditions(column_names), "failing_rows") }}

),

duplicated_keys as (

    select count(*) as row_count
    from {{ model }}
    group by {{ key | join(', ') }}
    having count(*) > 1

),

failures as (

    select
        'not_null' as rule,
        column_name,
        failing_rows
    from null_counts

    union all

    select
        'unique' as rule,
        '{{ key | join(", ") }}' as column_name,
        sum(row_count) as failing_rows
    from duplicated_keys
    having count(*) > 0

)

select * from failures

{% endtest %}
