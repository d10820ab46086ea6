-- One row per candidate driver of the key-driver analysis (driver_importance_quarterly): every
-- dimension and every item of the questionnaire that has a rated score, and the transactional
-- measures CSAT, effort and complaint resolution time. Says what measures the driver per response
-- (driver_measure) and how its performance is scored (performance_basis):
-- - `scale`: (mean - scale_min) / (scale_max - scale_min) * 100 on the driver's own scale (items,
--   CSAT, effort, and a dimension whose items share one scale: its value is their mean score, so
--   performance_mean stays in score points);
-- - `index`: a dimension whose items use different scales is measured by the mean of its items'
--   0-100 indices, so the mean already is the performance;
-- - `sla_met`: resolution time (fewer hours are better) is scored by the share of the complaints
--   resolved within their SLA target.
-- The questionnaire's drivers come from the scores delivered (int_driver_item_scores), not from
-- the seed, so an item nobody was asked is no driver.
with

item_scores as (

    select * from {{ ref('int_driver_item_scores') }}

),

dimension_scales as (

    select
        dimension,
        min(scale_min) = max(scale_min) and min(scale_max) = max(scale_max) as has_one_scale,
        min(scale_min) as scale_min,
        min(scale_max) as scale_max
    from item_scores
    group by dimension

),

dimensions as (

    select
        dimension as driver,
        'servqual_dimension' as driver_group,
        {{ dbt.concat(["'dimension__'", "dimension"]) }} as driver_measure,
        false as is_lower_better,
        case when has_one_scale then scale_min end as scale_min,
        case when has_one_scale then scale_max end as scale_max,
        case when has_one_scale then 'scale' else 'index' end as performance_basis
    from dimension_scales

),

items as (

    -- an item's scale is the seed's (survey_items), the same on every score of the item
    select
        item_code as driver,
        'item' as driver_group,
        {{ dbt.concat(["'item__'", "item_code"]) }} as driver_measure,
        false as is_lower_better,
        min(scale_min) as scale_min,
        min(scale_max) as scale_max,
        'scale' as performance_basis
    from item_scores
    group by item_code

),

transactional as (

    select
        'csat' as driver,
        'transactional' as driver_group,
        'csat_score' as driver_measure,
        false as is_lower_better,
        cast(1 as {{ type_double() }}) as scale_min,
        cast(5 as {{ type_double() }}) as scale_max,
        'scale' as performance_basis
    union all
    select
        'effort' as driver,
        'transactional' as driver_group,
        'effort_score' as driver_measure,
        false as is_lower_better,
        cast(1 as {{ type_double() }}) as scale_min,
        cast(7 as {{ type_double() }}) as scale_max,
        'scale' as performance_basis
    union all
    select
        'resolution_time' as driver,
        'transactional' as driver_group,
        'resolution_hours' as driver_measure,
        true as is_lower_better,
        cast(null as {{ type_double() }}) as scale_min,
        cast(null as {{ type_double() }}) as scale_max,
        'sla_met' as performance_basis

),

final as (

    select * from dimensions
    union all
    select * from items
    union all
    select * from transactional

)

select * from final
