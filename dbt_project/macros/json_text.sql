{#- The text value of a top-level key of a JSON text column (NULL when absent), e.g. a column a
    delivery carried beyond the contract (`_extra`). `key_sql` is an SQL expression giving the key
    (a seed column or a quoted literal). Engine-specific, hence adapter.dispatch. -#}
{% macro json_text(json_column, key_sql) -%}
    {{ return(adapter.dispatch('json_text', 'csat_warehouse')(json_column, key_sql)) }}
{%- endmacro %}

{% macro default__json_text(json_column, key_sql) -%}
    get_json_object(
        cast({{ json_column }} as {{ dbt.type_string() }}), {{ dbt.concat(["'$.'", key_sql]) }}
    )
{%- endmacro %}

{% macro duckdb__json_text(json_column, key_sql) -%}
    json_extract_string({{ json_column }}, {{ dbt.concat(["'$.\"'", key_sql, "'\"'"]) }})
{%- endmacro %}
