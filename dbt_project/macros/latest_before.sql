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
