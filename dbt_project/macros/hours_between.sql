{#- Hours from `start_at` to `end_at`: (end - start) in seconds / 3600.0, sub-second exact where the
    adapter allows it. NULL when either side is NULL. -#}
{% macro hours_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('hours_between', 'csat_warehouse')(start_at, end_at)) }}
{%- endmacro %}

{% macro default__hours_between(start_at, end_at) -%}
    ({{ dbt.datediff(start_at, end_at, 'second') }} / 3600.0)
{%- endmacro %}

{% macro duckdb__hours_between(start_at, end_at) -%}
    ({{ dbt.datediff(start_at, end_at, 'microsecond') }} / 3600000000.0)
{%- endmacro %}

{#- Spark: dbt's datediff in seconds truncates to whole seconds and `/ 3600.0` gives a DECIMAL
    there; microseconds as a bigint divided as doubles give DuckDB's value bit for bit. -#}
{% macro spark__hours_between(start_at, end_at) -%}
    (cast(timestampdiff(microsecond, {{ start_at }}, {{ end_at }}) as double) / 3600000000.0)
{%- endmacro %}
