-- Monthly service performance of everyone who serves customers: agents (the tickets they handled
-- and the responses about those tickets), account managers (the customers they manage: their
-- responses and complaints) and stores (responses and complaints attributed to the store). One
-- row per performer and month with any activity. Survey measures by response month, complaints
-- opened by opening month, resolution measures by the month of the final resolution (as
-- kpi_monthly).
{% set performers = [
    ('agent', 'agent_id'), ('account_manager', 'account_manager_id'), ('store', 'store_id')
] %}

with

responses as (

    select * from {{ ref('int_analytics_responses') }}

),

complaints as (

    select * from {{ ref('int_analytics_complaints') }}

),

response_events as (

    {{ unpivot_performers(
        'responses', performers,
        ['month_start_date', 'nps_contribution', 'is_csat_satisfied']
    ) }}

),

complaint_events as (

    {{ unpivot_performers(
        'complaints', performers,
        [
            'opened_month_start_date', 'resolved_month_start_date', 'is_resolved',
            'resolution_hours', 'is_resolution_sla_met', 'is_first_contact_resolution'
        ]
    ) }}

),

response_totals as (

    select
        performer_type,
        performer_id,
        month_start_date,
        count(*) as response_count,
        count(nps_contribution) as nps_response_count,
        sum(nps_contribution) as nps_net_count,
        count(is_csat_satisfied) as csat_response_count,
        sum(case when is_csat_satisfied then 1 else 0 end) as csat_satisfied_count
    from response_events
    group by performer_type, performer_id, month_start_date

),

opened_totals as (

    select
        performer_type,
        performer_id,
        opened_month_start_date as month_start_date,
        count(*) as complaints_opened_count
    from complaint_events
    group by performer_type, performer_id, opened_month_start_date

),

resolved_totals as (

    select
        performer_type,
        performer_id,
        resolved_month_start_date as month_start_date,
        count(*) as complaints_resolved_count,
        sum(case when is_first_contact_resolution then 1 else 0 end)
            as first_contact_resolution_count,
        sum(case when is_resolution_sla_met then 1 else 0 end) as sla_met_count,
        percentile_cont(0.5) within group (order by resolution_hours) as resolution_hours_median
    from complaint_events
    where is_resolved
    group by performer_type, performer_id, resolved_month_start_date

),

performer_months as (

    select
        performer_type,
        performer_id,
        month_start_date
    from response_totals
    union
    select
        performer_type,
        performer_id,
        month_start_date
    from opened_totals
    union
    select
        performer_type,
        performer_id,
        month_start_date
    from resolved_totals

),

final as (

    select
        performer_months.performer_type,
        performer_months.performer_id,
        performer_months.month_start_date,
        coalesce(response_totals.response_count, 0) as response_count,
        coalesce(response_totals.nps_response_count, 0) as nps_response_count,
        100.0
        * {{ safe_divide('response_totals.nps_net_count', 'response_totals.nps_response_count') }}
            as nps,
        coalesce(response_totals.csat_response_count, 0) as csat_response_count,
        100.0 * {{ safe_divide(
            'response_totals.csat_satisfied_count', 'response_totals.csat_response_count'
        ) }} as csat_pct,
        coalesce(opened_totals.complaints_opened_count, 0) as complaints_opened_count,
        coalesce(resolved_totals.complaints_resolved_count, 0) as complaints_resolved_count,
        100.0 * {{ safe_divide(
            'resolved_totals.first_contact_resolution_count',
            'resolved_totals.complaints_resolved_count'
        ) }} as first_contact_resolution_pct,
        cast(resolved_totals.resolution_hours_median as {{ type_double() }})
            as resolution_hours_median,
        100.0 * {{ safe_divide(
            'resolved_totals.sla_met_count', 'resolved_totals.complaints_resolved_count'
        ) }} as sla_attainment_pct
    from performer_months
    left join response_totals
        on
            performer_months.performer_type = response_totals.performer_type
            and performer_months.performer_id = response_totals.performer_id
            and performer_months.month_start_date = response_totals.month_start_date
    left join opened_totals
        on
            performer_months.performer_type = opened_totals.performer_type
            and performer_months.performer_id = opened_totals.performer_id
            and performer_months.month_start_date = opened_totals.month_start_date
    left join resolved_totals
        on
            performer_months.performer_type = resolved_totals.performer_type
            and performer_months.performer_id = resolved_totals.performer_id
            and performer_months.month_start_date = resolved_totals.month_start_date

)

select * from final
