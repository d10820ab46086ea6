-- One row per survey response and questionnaire item with a perception score: the item and
-- dimension drivers of the key-driver analysis. Scores are kept on the item's own scale
-- (perception_score, scale_min, scale_max) and as a 0-100 index on that scale, so that a
-- dimension mixing scales averages comparable numbers. "Not applicable" answers are NULL in
-- staging and left out here. A view: a filter of int_servqual_item_gaps (a table), read by
-- int_drivers and the response-grain view int_driver_response_values; storing it copied every item
-- score on every run.
{{ config(materialized='view') }}

with

item_gaps as (

    select * from {{ ref('int_servqual_item_gaps') }}

),

final as (

    select
        response_id,
        item_code,
        dimension,
        cast(perception_score as {{ type_double() }}) as perception_score,
        cast(scale_min as {{ type_double() }}) as scale_min,
        cast(scale_max as {{ type_double() }}) as scale_max,
        cast(perception_index as {{ type_double() }}) as perception_index
    from item_gaps
    where perception_score is not null and dimension is not null

)

select * from final
