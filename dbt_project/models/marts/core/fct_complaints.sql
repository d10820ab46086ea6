{#- Incremental like int_complaints_timed, whose scope it follows (in_complaint_scope: the rows
    that model recomputed); a ticket delivered again drops its earlier row first, which may no
    longer be a complaint (macros/incremental_scope.sql). -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_complaint_scope() }}"
) }}
-- depends_on: {{ ref('stg_complaints__tickets') }} (the pre-hook's changed keys)
-- Complaints (tickets of type complaint), one row per ticket in its latest state: timings in
-- hours, SLA targets of the severity and their outcome, resolution flags, conformed keys.
with

complaints as (

    select * from {{ ref('int_complaints_timed') }}
    where {{ in_complaint_scope() }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

employees as (

    select * from {{ ref('dim_employee') }}

),

channels as (

    select * from {{ ref('dim_channel') }}

),

orders as (

    -- only the order ids: the key is computed from the id (macro order_key), as fct_orders
    -- computes its own, so the join does not read fct_orders' 32-character keys
    select order_id from {{ ref('fct_orders') }}

),

final as (

    select
        {{ surrogate_key(['complaints.ticket_id']) }} as complaint_key,
        complaints.ticket_id,
        customers.customer_key,
        employees.employee_key,
        channels.channel_key,
        {{ joined_order_key('orders.order_id') }} as order_key,
        complaints.customer_id,
        complaints.category,
        complaints.severity,
        complaints.status,
        complaints.opened_at,
        {{ reporting_date('complaints.opened_at') }} as opened_date,
        complaints.first_response_at,
        complaints.resolved_at,
        {{ reporting_date('complaints.resolved_at') }} as resolved_date,
        complaints.closed_at,
        complaints.first_response_hours,
        complaints.resolution_hours,
        complaints.sla_first_response_hours,
        complaints.sla_resolution_hours,
        complaints.is_first_response_sla_met,
        complaints.is_resolution_sla_met,
        complaints.is_resolved,
        complaints.is_first_contact_resolution,
        complaints.is_reopened,
        complaints.reopen_count,
        complaints.contact_count,
        complaints.is_escalated
    from complaints
    left join customers
        on
            complaints.customer_id = customers.customer_id
            and complaints.opened_at >= customers.effective_from_at
            and complaints.opened_at < customers.effective_to_at
    left join employees
        on complaints.agent_id = employees.employee_id
    left join channels
        on complaints.channel = channels.channel
    left join orders
        on complaints.order_id = orders.order_id

)

select * from final
