{{ config(materialized='view', schema='semantic') }}
-- Semantic-layer grain of the SERVQUAL gaps: item gaps (perception - expectation) of survey
-- responses with the weight of the item's dimension (dim_survey_item, from the seed
-- servqual_weights), so that the weighted gap is a derived metric without copying the weights.
-- Items without a gap are left out.
with

item_scores as (

    select * from {{ ref('fct_survey_item_scores') }}

),

survey_items as (

    select * from {{ ref('dim_survey_item') }}

),

final as (

    select
        item_scores.response_item_key,
        item_scores.response_key,
        item_scores.customer_key,
        item_scores.channel_key,
        item_scores.item_code,
        item_scores.dimension,
        item_scores.submitted_at,
        item_scores.gap_score,
        survey_items.dimension_weight
    from item_scores
    left join survey_items
        on item_scores.survey_item_key = survey_items.survey_item_key
    where item_scores.gap_score is not null

)

select * from final
