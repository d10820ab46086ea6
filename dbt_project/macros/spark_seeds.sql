{#- Seeds on Spark: rows are inserted as SQL literals written here instead of through bindings.
    dbt-spark's session mode substitutes bindings into the statement as '<value>' without escaping,
    so a seed value with an apostrophe ("customer's", in survey_items, analytics_thresholds and
    analytics_risk_weights) ends the string early and the seed fails. Spark reads backslash escapes
    in string literals ('' is not a quote there: adjacent literals are concatenated), so backslashes
    and apostrophes are escaped with a backslash. No bindings also means no %-formatting, so a `%`
    in a value is taken as it is. Each value is cast to its column's type (the seed's column_types,
    else the type dbt infers, as in the table's DDL): dbt reads overridden columns as text, and
    Spark's ANSI mode refuses to store a string in a numeric column. DuckDB keeps dbt-duckdb's
    own loader. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set rows_per_insert = 500 -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set column_types = [] -%}
    {%- for column_name in agate_table.column_names -%}
        {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
        {%- do column_types.append(column_override.get(column_name, inferred_type)) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(rows_per_insert) -%}
        {%- set tuples = [] -%}
        {%- for row in chunk -%}
            {%- set literals = [] -%}
            {%- for value in row -%}
                {%- do literals.append(
                    'cast(' ~ spark_seed_literal(value) ~ ' as ' ~ column_types[loop.index0] ~ ')'
                ) -%}
            {%- endfor -%}
            {%- do tuples.append('(' ~ literals | join(', ') ~ ')') -%}
        {%- endfor -%}
        {%- set sql = 'insert into ' ~ this.render() ~ ' values\n' ~ tuples | join(',\n') -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {#- dbt writes the returned SQL to target/run: the first statement, as its own loaders do -#}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{#- One seed value as a Spark SQL literal: NULL, boolean, number or (escaped) text; dates and
    timestamps as their ISO text, which the cast to the column's type reads. -#}
{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- elif value.isoformat is defined -%}
        '{{ value.isoformat() }}'
    {%- else -%}
        '{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
