-- SERVQUAL survey items with their dimension and the dimension's weight.
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
        servqual_weights.weight as dimension_weight
    from survey_items
    left join servqual_weights
        on survey_items.dimension = servqual_weights.dimension

)

select * from final
