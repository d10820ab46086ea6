{#- Incremental like fct_survey_responses, which reads it in the same scope: a response is
    recomputed in a month or of a customer to rebuild (its current segment and region)
    (macros/incremental_scope.sql). -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_rebuild_scope(in_rebuild_scope('month_start_date', 'customer_id'), 'response_id', keys_loaded_since(ref('stg_survey__survey_responses'), 'response_id')) }}"
) }}
-- Survey responses with their KPI slices (customer's current segment and region, survey channel,
-- touchpoint) and per-response scores: NPS category, CSAT top-2-box, CES easy, CSI. Also the
-- response's order, ticket, language and whether it has a comment, so that the models reading this
-- one need not join the staging view again (at 10M responses that join was 5 s of
-- int_analytics_responses' 11 s).
with

survey_responses as (

    select * from {{ ref('stg_survey__survey_responses') }}
    where {{ in_rebuild_scope(reporting_month('submitted_at'), 'customer_id') }}

),

customers_current as (

    select * from {{ ref('int_customers_current') }}

),

csi_weights as (

    select * from {{ ref('csi_weights') }}

),

weights as (

    select
        sum(case when item = 'overall_satisfaction' then weight end) as overall_weight,
        sum(case when item = 'expectation_confirmation' then weight end) as expectation_weight,
        sum(case when item = 'ideal_comparison' then weight end) as ideal_weight,
        sum(weight) as total_weight
    from csi_weights

),

joined as (

    select
        survey_responses.response_id,
        survey_responses.survey_id,
        survey_responses.customer_id,
        survey_responses.order_id,
        survey_responses.ticket_id,
        survey_responses.submitted_at,
        {{ reporting_month('survey_responses.submitted_at') }}
            as month_start_date,
        coalesce(customers_current.segment, 'unknown') as segment,
        coalesce(customers_current.region, 'unknown') as region,
        {{ slice_value('survey_responses.channel') }} as channel,
        {{ slice_value('survey_responses.touchpoint') }} as touchpoint,
        survey_responses.language,
        survey_responses.comment is not null and trim(survey_responses.comment) <> ''
            as has_comment,
        survey_responses.likelihood_to_recommend,
        survey_responses.csat_score,
        survey_responses.effort_score,
        survey_responses.overall_satisfaction,
        survey_responses.expectation_confirmation,
        survey_responses.ideal_comparison,
        survey_responses.is_satisfied,
        weights.overall_weight,
        weights.expectation_weight,
        weights.ideal_weight,
        weights.total_weight
    from survey_responses
    left join customers_current
        on survey_responses.customer_id = customers_current.customer_id
    cross join weights

),

final as (

    select
        response_id,
        survey_id,
        customer_id,
        order_id,
        ticket_id,
        submitted_at,
        month_start_date,
        segment,
        region,
        channel,
        touchpoint,
        language,
        has_comment,
        likelihood_to_recommend,
        case
            when likelihood_to_recommend >= 9 then 'promoter'
            when likelihood_to_recommend >= 7 then 'passive'
            when likelihood_to_recommend >= 0 then 'detractor'
        end as nps_category,
        case
            when likelihood_to_recommend >= 9 then 1
            when likelihood_to_recommend >= 7 then 0
            when likelihood_to_recommend >= 0 then -1
        end as nps_contribution,
        csat_score,
        case when csat_score is not null then csat_score >= 4 end as is_csat_satisfied,
        effort_score,
        case when effort_score is not null then effort_score >= 5 end as is_ces_easy,
        overall_satisfaction,
        expectation_confirmation,
        ideal_comparison,
        (
            overall_weight * (overall_satisfaction - 1) / 9.0 * 100
            + expectation_weight * (expectation_confirmation - 1) / 9.0 * 100
            + ideal_weight * (ideal_comparison - 1) / 9.0 * 100
        ) / total_weight as csi_score,
        is_satisfied
    from joined

)

select * from final
