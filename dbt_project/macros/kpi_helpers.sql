{#- `numerator / denominator` as a double, NULL when the denominator is zero or NULL. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{#- The sum of a double expression, the same whatever order the rows are added in: a parallel
    aggregate adds doubles in an order that varies from run to run, which changed sums (and the
    numerators kpi_monthly publishes) in their last bits, so an unchanged month was published again
    after every build. Each value is rounded to 12 decimals and added exactly, as a decimal. -#}
{% macro exact_sum(expression) -%}
    cast({{ decimal_sum(expression) }} as {{ type_double() }})
{%- endmacro %}

{#- exact_sum before its cast to a double: a partial sum (a decimal) that a later exact_sum or
    `sum` adds up exactly, so a total made of partial sums equals the sum of every value. -#}
{% macro decimal_sum(expression) -%}
    sum(cast({{ expression }} as decimal(38, 12)))
{%- endmacro %}

{#- One KPI's rows of a kpi family model, in the long shape kpi_monthly unions. `kpi` is the KPI's
    name, or with kpi_is_expression an SQL expression giving it per row (one KPI per dimension). -#}
{% macro kpi_rows(
    kpi, from_relation, value, numerator, denominator, sample_size, is_mature='null',
    kpi_is_expression=false
) -%}
    {%- if kpi_is_expression -%}
        {%- set kpi_sql = 'cast(' ~ kpi ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- else -%}
        {%- set kpi_sql = "'" ~ kpi ~ "'" -%}
    {%- endif %}
    select
        month_start_date,
        {{ kpi_sql }} as kpi,
        slice_column,
        slice_value,
        cast({{ value }} as {{ type_double() }}) as kpi_value,
        cast({{ numerator }} as {{ type_double() }}) as numerator,
        cast({{ denominator }} as {{ type_double() }}) as denominator,
        cast({{ sample_size }} as {{ dbt.type_bigint() }}) as sample_size,
        cast({{ is_mature }} as {{ dbt.type_boolean() }}) as is_mature
    from {{ from_relation }}
{%- endmacro %}
