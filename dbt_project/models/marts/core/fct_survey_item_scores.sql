-- SERVQUAL item scores, one row per response and item, with the item gap (perception -
-- expectation) and the keys of the response, the item and the respondent.
with

item_gaps as (

    select * from {{ ref('int_servqual_item_gaps') }}

),

responses as (

    select * from {{ ref('fct_survey_responses') }}

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
