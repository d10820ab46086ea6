-- The questionnaire's items (seed survey_items) with their dimension, scale and the dimension's
-- weight in the SERVQUAL gap.
with

survey_items as (

    select * from {{ ref('survey_items') }}

),

servqual_weights as (

    select * from {{ ref('servqual_weights') }}

),

final as (

    select
        {{ surrogate_key(['survey_items.item_code']) }} as survey_item_key,
        survey_items.item_code,
        survey_items.dimension,
        survey_items.item_order,
        survey_items.item_text,
        servqual_weights.weight as dimension_weight,
        survey_items.scale_min,
        survey_items.scale_max,
        survey_items.na_code
    from survey_items
    left join servqual_weights
        on survey_items.dimension = servqual_weights.dimension

)

select * from final
