{#- Join condition: `intervals` (a row per event with `submitted_at` and the time of the same
    customer's next event, `next_submitted_at`) holds the customer's latest event strictly before
    `at`. One match per customer and instant, without ranking every earlier event. -#}
{% macro is_latest_before(intervals, at) -%}
    {{ at }} > {{ intervals }}.submitted_at
    and (
        {{ intervals }}.next_submitted_at is null
        or {{ at }} <= {{ intervals }}.next_submitted_at
    )
{%- endmacro %}

{#- `lead` of the next row whose `expression` is not NULL (a window function, followed by its
    `over`): the engines agree on the meaning and differ on where IGNORE NULLS goes. -#}
{% macro lead_ignoring_nulls(expression) -%}
    {{- return(adapter.dispatch('lead_ignoring_nulls', 'csat_warehouse')(expression)) -}}
{%- endmacro %}

{% macro default__lead_ignoring_nulls(expression) -%}
    lead({{ expression }}) ignore nulls
{%- endmacro %}

{% macro duckdb__lead_ignoring_nulls(expression) -%}
    lead({{ expression }} ignore nulls)
{%- endmacro %}
