{#- Incremental like fct_complaints: the complaints int_complaints_timed recomputed
    (in_complaint_scope: those of a customer to rebuild, whose current account manager and home
    store may have changed, and those about a ticket, order or agent delivered since, the order's
    store among them); a ticket delivered again drops its earlier row first
    (macros/incremental_scope.sql). -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_complaint_scope() }}"
) }}
-- depends_on: {{ ref('stg_complaints__tickets') }} (the pre-hook's changed keys)
-- Complaints with who and where they count for in the staff and store marts: the handling agent,
-- the customer's current account manager, and the store (the store of the order complained about
-- when it has one, else the customer's current home store).
with

complaints as (

    select * from {{ ref('int_complaints_timed') }}
    where {{ in_complaint_scope() }}

),

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

final as (

    select
        complaints.ticket_id,
        complaints.customer_id,
        complaints.agent_id,
        customers.account_manager_id,
        coalesce(orders.store_id, customers.store_id) as store_id,
        complaints.severity,
        complaints.status,
        complaints.opened_at,
        complaints.opened_month_start_date,
        complaints.resolved_at,
        complaints.resolved_month_start_date,
        complaints.resolution_hours,
        complaints.sla_resolution_hours,
        complaints.is_resolved,
        complaints.is_resolution_sla_met,
        complaints.is_first_contact_resolution
    from complaints
    left join customers
        on complaints.customer_id = customers.customer_id
    left join orders
        on complaints.order_id = orders.order_id

)

select * from final
