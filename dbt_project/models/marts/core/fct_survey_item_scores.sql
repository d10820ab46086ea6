{#- Incremental like fct_survey_responses, whose scope it follows: an item row is recomputed
    with its response (in a month or of a customer to rebuild); re-delivered responses or item
    rows drop their earlier rows first (macros/incremental_scope.sql). -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_rebuild_scope('response_id in (select response_id from ' ~ ref('fct_survey_responses') ~ ' where ' ~ in_rebuild_scope('month_start_date', 'customer_id') ~ ')', 'response_id', keys_loaded_since(ref('stg_survey__survey_responses'), 'response_id') ~ ' union all ' ~ keys_loaded_since(ref('stg_survey__survey_item_scores'), 'response_id')) }}"
) }}
-- depends_on: {{ ref('stg_survey__survey_item_scores') }} (the pre-hook's changed keys)
-- SERVQUAL item scores, one row per response and item, with the item gap (perception -
-- expectation) and the keys of the response, the item and the respondent.
with

item_gaps as (

    select * from {{ ref('int_servqual_item_gaps') }}

),

responses as (

    select * from {{ ref('fct_survey_responses') }}
    where {{ in_rebuild_scope('month_start_date', 'customer_id') }}

),

survey_items as (

    select * from {{ ref('dim_survey_item') }}

),

final as (

    select
        {{ surrogate_key(['item_gaps.response_id', 'item_gaps.item_code']) }}
            as response_item_key,
        responses.response_key,
        survey_items.survey_item_key,
        responses.customer_key,
        responses.channel_key,
        item_gaps.response_id,
        item_gaps.item_code,
        item_gaps.dimension,
        item_gaps.submitted_at,
        responses.submitted_date,
        item_gaps.month_start_date,
        item_gaps.expectation_score,
        item_gaps.perception_score,
        item_gaps.gap_score
    from item_gaps
    inner join responses
        on item_gaps.response_id = responses.response_id
    left join survey_items
        on item_gaps.item_code = survey_items.item_code

)

select * from final
