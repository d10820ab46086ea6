{#- A published KPI figure rounded to `digits` decimals, the same on every engine (DECISIONLOG,
    "Rounding"). round() on a double differs between engines at ties (DuckDB scales the binary
    value and rounds it, Spark rounds its shortest decimal form) and even between two builds of one
    engine, since a sum of doubles in another order can land just below or just above a tie
    (12.34565 as 12.345649999999999). The value is first fixed to 10 decimals, which absorbs that
    noise (it lies far below 1e-10), then rounded as a DECIMAL, where both engines round half away
    from zero exactly; the result is a double again, so the published columns keep their type. -#}
{% macro kpi_round(expression, digits=4) -%}
    cast(round(cast({{ expression }} as decimal(38, 10)), {{ digits }}) as {{ type_double() }})
{%- endmacro %}
