-- One row per survey response, analysis group and outcome of the key-driver analysis (seed
-- driver_outcomes) the response has a value for. A response belongs to two groups of its quarter:
-- its customer's segment and `all` (every response). The outcome columns of
-- int_driver_observations are unpivoted here (the seed's accepted measures), so the statistics
-- join one long table. Only the quarters the build recomputes (int_rebuild_quarters: all of them
-- in a full build), so the statistics and the tests here read no more. A table replaced by each
-- build, as int_driver_response_values and for the same reason.
{{ config(materialized='table') }}

with

observations as (

    select * from {{ ref('int_driver_observations') }}
    where {{ in_rebuild_quarters('quarter_start_date') }}

),

driver_outcomes as (

    select * from {{ ref('driver_outcomes') }}

),

response_groups as (

    select
        response_id,
        quarter_start_date,
        segment
    from observations
    where quarter_start_date is not null and segment is not null
    union all
    select
        response_id,
        quarter_start_date,
        'all' as segment
    from observations
    where quarter_start_date is not null

),

measure_values as (

    {{ driver_outcome_rows('observations') }}

),

final as (

    select
        response_groups.response_id,
        response_groups.quarter_start_date,
        response_groups.segment,
        driver_outcomes.outcome,
        driver_outcomes.measure as outcome_measure,
        measure_values.outcome_value
    from response_groups
    inner join measure_values
        on response_groups.response_id = measure_values.response_id
    inner join driver_outcomes
        on measure_values.outcome_measure = driver_outcomes.measure

)

select * from final
