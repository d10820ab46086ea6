-- One row per survey response: the outcomes of the key-driver analysis (CSI, likelihood to
-- recommend) and the candidate drivers: the mean perception score (1-7) of each SERVQUAL
-- dimension over the items the respondent answered, CSAT (1-5), effort (1-7) and the resolution
-- time (hours) and SLA outcome of the resolved complaint the response is about.
with

responses as (

    select * from {{ ref('int_analytics_responses') }}

),

item_gaps as (

    select * from {{ ref('int_servqual_item_gaps') }}

),

complaints as (

    select * from {{ ref('int_complaints_timed') }}

),

dimension_scores as (

    select
        response_id,
        avg(case when dimension = 'tangibles' then perception_score end) as tangibles_score,
        avg(case when dimension = 'reliability' then perception_score end) as reliability_score,
        avg(case when dimension = 'responsiveness' then perception_score end)
            as responsiveness_score,
        avg(case when dimension = 'assurance' then perception_score end) as assurance_score,
        avg(case when dimension = 'empathy' then perception_score end) as empathy_score
    from item_gaps
    group by response_id

),

resolved_complaints as (

    select * from complaints
    where is_resolved

),

final as (

    select
        responses.response_id,
        responses.quarter_start_date,
        responses.segment,
        cast(responses.csi_score as {{ type_double() }}) as csi_score,
        cast(responses.likelihood_to_recommend as {{ type_double() }})
            as likelihood_to_recommend,
        cast(dimension_scores.tangibles_score as {{ type_double() }}) as tangibles_score,
        cast(dimension_scores.reliability_score as {{ type_double() }}) as reliability_score,
        cast(dimension_scores.responsiveness_score as {{ type_double() }})
            as responsiveness_score,
        cast(dimension_scores.assurance_score as {{ type_double() }}) as assurance_score,
        cast(dimension_scores.empathy_score as {{ type_double() }}) as empathy_score,
        cast(responses.csat_score as {{ type_double() }}) as csat_score,
        cast(responses.effort_score as {{ type_double() }}) as effort_score,
        cast(resolved_complaints.resolution_hours as {{ type_double() }}) as resolution_hours,
        resolved_complaints.is_resolution_sla_met
    from responses
    left join dimension_scores
        on responses.response_id = dimension_scores.response_id
    left join resolved_complaints
        on responses.ticket_id = resolved_complaints.ticket_id

)

select * from final
