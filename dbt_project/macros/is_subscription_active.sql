{#- The one definition of an active subscription (KPIS.md, logo churn): a subscription is active at
    the instant `as_of` when it started before it and had not ended before it, i.e.
    started_at < as_of and (ended_at is null or ended_at >= as_of). A subscription with a scheduled
    end after `as_of` is active. Churn (fct_customer_months, at each month's start and end),
    customer_risk (int_customer_risk_subscriptions, at the as-of time) and fct_subscriptions.is_active
    (at the as-of time) all use it, so they cannot disagree. Evaluates to a boolean; NULL only when
    started_at or as_of is NULL. -#}
{% macro is_subscription_active(started_at, ended_at, as_of) -%}
    ({{ started_at }} < {{ as_of }} and ({{ ended_at }} is null or {{ ended_at }} >= {{ as_of }}))
{%- endmacro %}
