-- Staff performance per month: agents (tickets they handled, responses about those tickets) and
-- account managers (the customers they manage), with CSAT, NPS, complaints, first-contact
-- resolution, median resolution time and SLA attainment, and their rank within their team
-- (same role of responsibility, team and month; ranked only with enough responses or resolved
-- complaints: seed analytics_thresholds.ranking_min_sample). No names.
{% set team_month = ['performer_type', 'team', 'month_start_date'] %}

with

performance as (

    select * from {{ ref('int_performance_monthly') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

employees as (

    select * from {{ ref('dim_employee') }}

),

staff as (

    select
        performance.*,
        employees.employee_key,
        employees.role,
        employees.team,
        employees.store_key,
        performance.csat_response_count >= parameters.ranking_min_sample as is_csat_rankable,
        performance.nps_response_count >= parameters.ranking_min_sample as is_nps_rankable,
        performance.complaints_resolved_count >= parameters.ranking_min_sample
            as is_sla_rankable
    from performance
    cross join parameters
    left join employees
        on performance.performer_id = employees.employee_id
    where performance.performer_type in ('agent', 'account_manager')

),

final as (

    select
        {{ surrogate_key(['performer_id', 'performer_type', 'month_start_date']) }}
            as staff_performance_key,
        employee_key,
        performer_id as employee_id,
        performer_type as responsibility,
        role,
        team,
        store_key,
        month_start_date,
        response_count,
        nps_response_count,
        nps,
        csat_response_count,
        csat_pct,
        complaints_opened_count,
        complaints_resolved_count,
        first_contact_resolution_pct,
        resolution_hours_median,
        sla_attainment_pct,
        {{ rank_within('csat_pct', 'is_csat_rankable', team_month) }}
            as csat_rank_in_team,
        {{ rank_within('nps', 'is_nps_rankable', team_month) }}
            as nps_rank_in_team,
        {{ rank_within('sla_attainment_pct', 'is_sla_rankable', team_month) }}
            as sla_rank_in_team,
        count(*) over (partition by performer_type, team, month_start_date) as team_member_count
    from staff

)

select * from final
