{%- set slices = ['segment', 'region', 'channel', 'category'] -%}
{%- set rate_slices = ['segment', 'region'] -%}
-- Complaint KPIs per month and slice on the full grid. Volume, escalation and first response are
-- assigned to the opened_at month; resolution time, SLA, first-contact resolution and reopen rate
-- to the resolved_at month; backlog is measured at month end; complaint rate (per 1,000 valid
-- orders) is sliced by segment and region only. The timely-response rate is the share of the
-- month's opened complaints the source flags as answered in time (sla_met), over those it flags.
with

complaints as (

    select * from {{ ref('int_complaints_timed') }}

),

orders as (

    select * from {{ ref('int_orders_classified') }}

),

months as (

    select * from {{ ref('int_months') }}

),

valid_orders as (

    select * from orders
    where is_valid

),

opened_slices as (

    {{ unpivot_slices('complaints', slices, [
        'opened_month_start_date as month_start_date', 'ticket_id', 'is_escalated',
        'first_response_hours', 'is_sla_met_by_source'
    ]) }}

),

resolved_complaints as (

    select * from complaints
    where is_resolved

),

resolved_slices as (

    {{ unpivot_slices('resolved_complaints', slices, [
        'resolved_month_start_date as month_start_date', 'ticket_id', 'resolution_hours',
        'is_resolution_sla_met', 'is_first_contact_resolution', 'is_reopened'
    ]) }}

),

backlog_complaints as (

    select
        months.month_start_date,
        complaints.ticket_id,
        {{ slices | join(', ') }}
    from complaints
    inner join months
        on
            complaints.opened_at < months.next_month_start_at
            and (
                complaints.left_backlog_at >= months.next_month_start_at
                or (complaints.left_backlog_at is null and not complaints.is_closed_by_status)
            )

),

backlog_slices as (

    {{ unpivot_slices('backlog_complaints', slices, ['month_start_date', 'ticket_id']) }}

),

order_slices as (

    {{ unpivot_slices('valid_orders', rate_slices, ['month_start_date', 'order_id']) }}

),

opened_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        count(*) as opened_complaints,
        sum(case when is_escalated then 1 else 0 end) as escalated_complaints,
        count(first_response_hours) as responded_complaints,
        count(is_sla_met_by_source) as sla_flagged_complaints,
        sum(case when is_sla_met_by_source then 1 else 0 end) as timely_complaints,
        percentile_cont(0.5) within group (order by first_response_hours)
            as first_response_hours_median,
        percentile_cont(0.9) within group (order by first_response_hours)
            as first_response_hours_p90
    from opened_slices
    group by month_start_date, slice_column, slice_value

),

resolved_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        count(*) as resolved_complaints,
        count(resolution_hours) as timed_resolutions,
        percentile_cont(0.5) within group (order by resolution_hours) as resolution_hours_median,
        percentile_cont(0.9) within group (order by resolution_hours) as resolution_hours_p90,
        sum(case when is_resolution_sla_met then 1 else 0 end) as sla_met_complaints,
        sum(case when is_first_contact_resolution then 1 else 0 end) as first_contact_resolutions,
        sum(case when is_reopened then 1 else 0 end) as reopened_complaints
    from resolved_slices
    group by month_start_date, slice_column, slice_value

),

backlog_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        count(*) as backlog_complaints
    from backlog_slices
    group by month_start_date, slice_column, slice_value

),

order_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        count(*) as valid_orders
    from order_slices
    group by month_start_date, slice_column, slice_value

),

slice_domain as (

    select distinct
        slice_column,
        slice_value
    from opened_slices
    union
    select
        'all' as slice_column,
        'all' as slice_value

),

rate_domain as (

    select
        slice_column,
        slice_value
    from slice_domain
    where slice_column in ('all', {{ "'" ~ rate_slices | join("', '") ~ "'" }})
    union
    select distinct
        slice_column,
        slice_value
    from order_slices

),

complaint_grid as (

    select
        months.month_start_date,
        slice_domain.slice_column,
        slice_domain.slice_value,
        coalesce(opened_totals.opened_complaints, 0) as opened_complaints,
        coalesce(opened_totals.escalated_complaints, 0) as escalated_complaints,
        coalesce(opened_totals.responded_complaints, 0) as responded_complaints,
        coalesce(opened_totals.sla_flagged_complaints, 0) as sla_flagged_complaints,
        coalesce(opened_totals.timely_complaints, 0) as timely_complaints,
        opened_totals.first_response_hours_median,
        opened_totals.first_response_hours_p90,
        coalesce(resolved_totals.resolved_complaints, 0) as resolved_complaints,
        coalesce(resolved_totals.timed_resolutions, 0) as timed_resolutions,
        resolved_totals.resolution_hours_median,
        resolved_totals.resolution_hours_p90,
        coalesce(resolved_totals.sla_met_complaints, 0) as sla_met_complaints,
        coalesce(resolved_totals.first_contact_resolutions, 0) as first_contact_resolutions,
        coalesce(resolved_totals.reopened_complaints, 0) as reopened_complaints,
        coalesce(backlog_totals.backlog_complaints, 0) as backlog_complaints
    from months
    cross join slice_domain
    left join opened_totals
        on
            months.month_start_date = opened_totals.month_start_date
            and slice_domain.slice_column = opened_totals.slice_column
            and slice_domain.slice_value = opened_totals.slice_value
    left join resolved_totals
        on
            months.month_start_date = resolved_totals.month_start_date
            and slice_domain.slice_column = resolved_totals.slice_column
            and slice_domain.slice_value = resolved_totals.slice_value
    left join backlog_totals
        on
            months.month_start_date = backlog_totals.month_start_date
            and slice_domain.slice_column = backlog_totals.slice_column
            and slice_domain.slice_value = backlog_totals.slice_value

),

rate_grid as (

    select
        months.month_start_date,
        rate_domain.slice_column,
        rate_domain.slice_value,
        coalesce(opened_totals.opened_complaints, 0) as opened_complaints,
        coalesce(order_totals.valid_orders, 0) as valid_orders
    from months
    cross join rate_domain
    left join opened_totals
        on
            months.month_start_date = opened_totals.month_start_date
            and rate_domain.slice_column = opened_totals.slice_column
            and rate_domain.slice_value = opened_totals.slice_value
    left join order_totals
        on
            months.month_start_date = order_totals.month_start_date
            and rate_domain.slice_column = order_totals.slice_column
            and rate_domain.slice_value = order_totals.slice_value

),

kpis as (

    {{ kpi_rows(
        'complaint_volume', 'complaint_grid',
        'opened_complaints', 'opened_complaints', 'null', 'opened_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'complaint_rate', 'rate_grid',
        '1000.0 * ' ~ safe_divide('opened_complaints', 'valid_orders'),
        'opened_complaints', 'valid_orders', 'opened_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'first_response_hours_median', 'complaint_grid',
        'first_response_hours_median', 'null', 'null', 'responded_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'first_response_hours_p90', 'complaint_grid',
        'first_response_hours_p90', 'null', 'null', 'responded_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'resolution_hours_median', 'complaint_grid',
        'resolution_hours_median', 'null', 'null', 'timed_resolutions'
    ) }}
    union all
    {{ kpi_rows(
        'resolution_hours_p90', 'complaint_grid',
        'resolution_hours_p90', 'null', 'null', 'timed_resolutions'
    ) }}
    union all
    {{ kpi_rows(
        'sla_attainment_rate', 'complaint_grid',
        '100.0 * ' ~ safe_divide('sla_met_complaints', 'resolved_complaints'),
        'sla_met_complaints', 'resolved_complaints', 'resolved_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'first_contact_resolution_rate', 'complaint_grid',
        '100.0 * ' ~ safe_divide('first_contact_resolutions', 'resolved_complaints'),
        'first_contact_resolutions', 'resolved_complaints', 'resolved_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'reopen_rate', 'complaint_grid',
        '100.0 * ' ~ safe_divide('reopened_complaints', 'resolved_complaints'),
        'reopened_complaints', 'resolved_complaints', 'resolved_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'backlog', 'complaint_grid',
        'backlog_complaints', 'backlog_complaints', 'null', 'backlog_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'escalation_rate', 'complaint_grid',
        '100.0 * ' ~ safe_divide('escalated_complaints', 'opened_complaints'),
        'escalated_complaints', 'opened_complaints', 'opened_complaints'
    ) }}
    union all
    {{ kpi_rows(
        'timely_response_rate', 'complaint_grid',
        '100.0 * ' ~ safe_divide('timely_complaints', 'sla_flagged_complaints'),
        'timely_complaints', 'sla_flagged_complaints', 'sla_flagged_complaints'
    ) }}

),

final as (

    select * from kpis

)

select * from final
