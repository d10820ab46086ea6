-- Complaint signal of customer_risk, one row per CRM customer: complaints not resolved (or
-- reopened) at the as-of time and open longer than their severity's resolution target. Reason
-- open_complaint_past_sla. A complaint of an unknown severity has no target (sla_resolution_hours
-- NULL) and counts as soon as it is open: nobody promised a time, so any wait is too long.
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

complaints as (

    select * from {{ ref('int_analytics_complaints') }}

),

as_of as (

    select as_of_at from {{ ref('int_calendar_bounds') }}

),

complaint_summary as (

    select
        complaints.customer_id,
        count(*) as open_complaints_past_sla
    from complaints
    cross join as_of
    where
        not complaints.is_resolved
        and complaints.opened_at <= as_of.as_of_at
        and {{ hours_between('complaints.opened_at', 'as_of.as_of_at') }}
        > coalesce(complaints.sla_resolution_hours, 0)
    group by complaints.customer_id

),

final as (

    select
        customers.customer_id,
        coalesce(complaint_summary.open_complaints_past_sla, 0) as open_complaints_past_sla,
        coalesce(complaint_summary.open_complaints_past_sla, 0) > 0
            as has_open_complaint_past_sla
    from customers
    left join complaint_summary
        on customers.customer_id = complaint_summary.customer_id

)

select * from final
