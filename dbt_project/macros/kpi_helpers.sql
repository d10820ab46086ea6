{#- `numerator / denominator` as a double, NULL when the denominator is zero or NULL. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{#- One KPI's rows of a kpi family model, in the long shape kpi_monthly unions. -#}
{% macro kpi_rows(
    kpi, from_relation, value, numerator, denominator, sample_size, is_mature='null'
) -%}
    select
        month_start_date,
        '{{ kpi }}' as kpi,
        slice_column,
        slice_value,
        cast({{ value }} as {{ type_double() }}) as kpi_value,
        cast({{ numerator }} as {{ type_double() }}) as numerator,
        cast({{ denominator }} as {{ type_double() }}) as denominator,
        cast({{ sample_size }} as {{ dbt.type_bigint() }}) as sample_size,
        cast({{ is_mature }} as {{ dbt.type_boolean() }}) as is_mature
    from {{ from_relation }}
{%- endmacro %}
