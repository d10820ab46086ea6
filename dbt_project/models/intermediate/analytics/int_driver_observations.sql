{#- Incremental like int_analytics_responses, whose rows it follows (macros/incremental_scope.sql):
    a response's row is recomputed when its attributions are (a month or customer to rebuild, an
    order or ticket delivered since: its segment, scores and complaint). Responses never move to
    another response_id, so the rows deleted and those inserted are the same responses. Rebuilt
    whole, it was the slowest table model of the 10M daily increment after the analytics marts. -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_in_scope('response_id in (select response_id from ' ~ ref('int_analytics_responses') ~ ' where ' ~ in_analytics_response_scope() ~ ')') }}"
) }}
-- One row per survey response: the possible outcomes of the key-driver analysis (CSI, likelihood
-- to recommend, overall satisfaction, CSAT, the binary satisfied label; which ones are analysed is
-- the seed driver_outcomes) and the response-level candidate drivers: CSAT (1-5), effort (1-7)
-- and the resolution time (hours) and SLA outcome of the resolved complaint the response is about.
-- The questionnaire's item and dimension drivers are in int_driver_item_scores.
with

responses as (

    select * from {{ ref('int_analytics_responses') }}
    where {{ in_analytics_response_scope() }}

),

scored as (

    select * from {{ ref('int_survey_responses_scored') }}

),

complaints as (

    select * from {{ ref('int_complaints_timed') }}

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
        cast(scored.overall_satisfaction as {{ type_double() }}) as overall_satisfaction,
        cast(
            case when scored.is_satisfied then 1 when not scored.is_satisfied then 0 end
            as {{ type_double() }}
        ) as is_satisfied,
        cast(responses.csat_score as {{ type_double() }}) as csat_score,
        cast(responses.effort_score as {{ type_double() }}) as effort_score,
        cast(resolved_complaints.resolution_hours as {{ type_double() }}) as resolution_hours,
        resolved_complaints.is_resolution_sla_met
    from responses
    inner join scored
        on responses.response_id = scored.response_id
    left join resolved_complaints
        on responses.ticket_id = resolved_complaints.ticket_id

)

select * from final
