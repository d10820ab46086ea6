{#- Incremental (macros/incremental_scope.sql, in_complaint_scope): a complaint is recomputed when
    its customer is one to rebuild, or its ticket, order or agent was delivered since. Its pre-hook
    deletes the rows in that scope as they stand, so a ticket delivered again as another customer's,
    or as another type of ticket, leaves no earlier row. -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_in_scope(in_complaint_scope()) }}"
) }}
-- Complaints (tickets of type complaint) with their timings against the SLA policy of their
-- severity, and the flags the complaint KPIs count. Resolution time runs from opened_at to the
-- ticket's resolved_at in its latest state (the last resolution of a reopened complaint); a
-- complaint whose latest status is `reopened` is not resolved (yet), whatever its resolved_at.
-- Status is authoritative: a `resolved` / `closed` complaint without resolved_at (registers often
-- carry none) is not open; it leaves the backlog at closed_at, or is in no month-end backlog when
-- that is missing too, and its timing KPIs are unknown (it has no resolved month).
with

tickets as (

    select * from {{ ref('stg_complaints__tickets') }}

),

customers_current as (

    select * from {{ ref('int_customers_current') }}

),

sla_policies as (

    select * from {{ ref('sla_policies') }}

),

complaints as (

    select * from tickets
    where
        ticket_type = 'complaint'
        and ({{ in_complaint_scope() }})

),

timed as (

    select
        complaints.ticket_id,
        complaints.customer_id,
        complaints.agent_id,
        complaints.order_id,
        coalesce(customers_current.segment, 'unknown') as segment,
        coalesce(customers_current.region, 'unknown') as region,
        {{ slice_value('complaints.channel') }} as channel,
        {{ slice_value('complaints.category') }} as category,
        {{ slice_value('complaints.severity') }} as severity,
        complaints.status,
        complaints.opened_at,
        complaints.first_response_at,
        complaints.resolved_at,
        complaints.closed_at,
        {{ reporting_month('complaints.opened_at') }}
            as opened_month_start_date,
        {{ reporting_month('complaints.resolved_at') }}
            as resolved_month_start_date,
        complaints.company_response_at,
        complaints.is_sla_met_by_source,
        complaints.reopen_count,
        complaints.contact_count,
        coalesce(complaints.is_escalated, false) as is_escalated,
        {{ hours_between('complaints.opened_at', 'complaints.first_response_at') }}
            as first_response_hours,
        {{ hours_between('complaints.opened_at', 'complaints.resolved_at') }}
            as resolution_hours,
        sla_policies.first_response_hours as sla_first_response_hours,
        sla_policies.resolution_hours as sla_resolution_hours
    from complaints
    left join customers_current
        on complaints.customer_id = customers_current.customer_id
    left join sla_policies
        on complaints.severity = sla_policies.severity

),

final as (

    select
        *,
        resolved_at is not null and coalesce(status, '') <> 'reopened' as is_resolved,
        coalesce(reopen_count, 0) >= 1 as is_reopened,
        coalesce(status, '') in ('resolved', 'closed') as is_closed_by_status,
        case
            when coalesce(status, '') = 'reopened' then null
            when resolved_at is not null then resolved_at
            when coalesce(status, '') in ('resolved', 'closed') then closed_at
        end as left_backlog_at,
        case
            when resolved_at is null or coalesce(status, '') = 'reopened' then null
            else coalesce(resolution_hours <= sla_resolution_hours, false)
        end as is_resolution_sla_met,
        case
            when first_response_at is null then null
            else coalesce(first_response_hours <= sla_first_response_hours, false)
        end as is_first_response_sla_met,
        case
            when resolved_at is null or coalesce(status, '') = 'reopened' then null
            else coalesce(contact_count = 1 and coalesce(reopen_count, 0) = 0, false)
        end as is_first_contact_resolution
    from timed

)

select * from final
