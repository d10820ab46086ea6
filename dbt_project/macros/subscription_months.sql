{#- The months of `months` (int_months) that each subscription of `subscriptions` (a CTE with
    customer_id, started_at, ended_at and mrr) overlaps, with its MRR and whether it is active at
    the month's start and at its end (is_subscription_active), where `condition` holds.
    fct_customer_months expands the subscriptions of customers with one subscription and the others
    apart: one expansion read by both halves was materialised whole by DuckDB (DECISIONLOG.md,
    "Joins the survey facts did not need; the grid's two halves without a shared CTE"). -#}
{% macro subscription_months(subscriptions, months, condition) -%}
    select
        {{ subscriptions }}.customer_id,
        {{ months }}.month_start_date,
        {{ subscriptions }}.mrr,
        case
            when {{ is_subscription_active(
                subscriptions ~ '.started_at', subscriptions ~ '.ended_at', months ~ '.month_start_at'
            ) }}
                then 1
            else 0
        end as is_active_at_start,
        case
            when {{ is_subscription_active(
                subscriptions ~ '.started_at', subscriptions ~ '.ended_at',
                months ~ '.next_month_start_at'
            ) }}
                then 1
            else 0
        end as is_active_at_end
    from {{ subscriptions }}
    -- overlapping the month: started before its end and not ended before its start
    inner join {{ months }}
        on
            {{ subscriptions }}.started_at < {{ months }}.next_month_start_at
            and (
                {{ subscriptions }}.ended_at is null
                or {{ subscriptions }}.ended_at >= {{ months }}.month_start_at
            )
    where {{ condition }}
{%- endmacro %}
