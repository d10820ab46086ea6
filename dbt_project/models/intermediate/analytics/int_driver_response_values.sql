-- One row per survey response and driver with a value (int_drivers): the per-response measure
-- of the driver that the key-driver statistics correlate with the outcomes. A dimension's value
-- is the mean score of its items the respondent rated (the mean of their 0-100 indices when the
-- items' scales differ), an item's value its perception score, and the transactional drivers
-- the response's CSAT, effort and the resolution time of its resolved complaint (with whether
-- that met its SLA, for resolution time's performance). Only the responses of the quarters the
-- build recomputes (int_rebuild_quarters: all of them in a full build), so the statistics and the
-- tests here read no more. A table, written once per build and replaced by the next: as a view it
-- was evaluated again by each statistics model and each test (four evaluations of every item
-- score's average; DECISIONLOG.md, "The key-driver working set, stored once per build").
{{ config(materialized='table') }}

with

observations as (

    select * from {{ ref('int_driver_observations') }}
    where {{ in_rebuild_quarters('quarter_start_date') }}

),

item_scores as (

    -- filtered before the per-response averages below, not after them
    select * from {{ ref('int_driver_item_scores') }}
    where response_id in (select observations.response_id from observations)

),

drivers as (

    select * from {{ ref('int_drivers') }}

),

dimension_values as (

    select
        item_scores.response_id,
        item_scores.dimension as driver,
        case
            when drivers.performance_basis = 'index' then avg(item_scores.perception_index)
            else avg(item_scores.perception_score)
        end as driver_value
    from item_scores
    inner join drivers
        on
            item_scores.dimension = drivers.driver
            and drivers.driver_group = 'servqual_dimension'
    group by item_scores.response_id, item_scores.dimension, drivers.performance_basis

),

item_values as (

    -- one score per response and item (int_servqual_item_gaps is unique on them): no aggregate
    select
        response_id,
        item_code as driver,
        perception_score as driver_value
    from item_scores

),

questionnaire_values as (

    select
        response_id,
        driver,
        driver_value,
        cast(null as boolean) as is_resolution_sla_met
    from dimension_values
    union all
    select
        response_id,
        driver,
        driver_value,
        cast(null as boolean) as is_resolution_sla_met
    from item_values

),

transactional_values as (

    select
        response_id,
        'csat' as driver,
        csat_score as driver_value,
        cast(null as boolean) as is_resolution_sla_met
    from observations
    where csat_score is not null
    union all
    select
        response_id,
        'effort' as driver,
        effort_score as driver_value,
        cast(null as boolean) as is_resolution_sla_met
    from observations
    where effort_score is not null
    union all
    select
        response_id,
        'resolution_time' as driver,
        resolution_hours as driver_value,
        is_resolution_sla_met
    from observations
    where resolution_hours is not null

),

final as (

    -- only responses of the analysis: item_scores holds only theirs
    select
        response_id,
        driver,
        driver_value,
        is_resolution_sla_met
    from questionnaire_values
    union all
    select
        response_id,
        driver,
        driver_value,
        is_resolution_sla_met
    from transactional_values

)

select * from final
