{#- Incremental like fct_survey_item_scores: an item row is recomputed with its response (in a
    month or of a customer to rebuild); re-delivered responses or item rows drop their earlier rows
    first (macros/incremental_scope.sql). -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_rebuild_scope('response_id in (select response_id from ' ~ ref('int_survey_responses_scored') ~ ' where ' ~ in_rebuild_scope('month_start_date', 'customer_id') ~ ')', 'response_id', keys_loaded_since(ref('stg_survey__survey_responses'), 'response_id') ~ ' union all ' ~ keys_loaded_since(ref('stg_survey__survey_item_scores'), 'response_id')) }}"
) }}
-- depends_on: {{ ref('stg_survey__survey_responses') }} (the pre-hook's changed keys)
-- Survey item scores with the item's dimension and scale and the slices and month of the response
-- they belong to: the SERVQUAL gap (perception - expectation; NULL without both scores) and the
-- perception as a 0-100 index on the item's own scale ((score - scale_min) / (scale_max -
-- scale_min) * 100), so that items on different scales can be averaged (SERVPERF).
with

item_scores as (

    select * from {{ ref('stg_survey__survey_item_scores') }}

),

responses as (

    select * from {{ ref('int_survey_responses_scored') }}
    where {{ in_rebuild_scope('month_start_date', 'customer_id') }}

),

survey_items as (

    select * from {{ ref('survey_items') }}

),

final as (

    select
        item_scores.response_id,
        item_scores.item_code,
        survey_items.dimension,
        responses.submitted_at,
        responses.month_start_date,
        responses.segment,
        responses.region,
        responses.channel,
        responses.touchpoint,
        item_scores.expectation_score,
        item_scores.perception_score,
        item_scores.perception_score - item_scores.expectation_score as gap_score,
        survey_items.scale_min,
        survey_items.scale_max,
        100.0 * (item_scores.perception_score - survey_items.scale_min)
        / nullif(survey_items.scale_max - survey_items.scale_min, 0) as perception_index
    from item_scores
    inner join responses
        on item_scores.response_id = responses.response_id
    left join survey_items
        on item_scores.item_code = survey_items.item_code

)

select * from final
