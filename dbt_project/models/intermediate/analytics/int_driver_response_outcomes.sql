-- One row per survey response and outcome of the key-driver analysis (seed driver_outcomes) the
-- response has a value for, with the response's quarter and its customer's segment. The outcome
-- columns of int_driver_observations are unpivoted here (the seed's accepted measures), so the
-- statistics join one long table; they group it by segment and by quarter alone (`all`) in one
-- aggregate (group_by_analysis_groups), so a response is stored once, not once per group. Only the
-- quarters the build recomputes (int_rebuild_quarters: all of them in a full build), so the
-- statistics and the tests here read no more. A table replaced by each build, as
-- int_driver_response_values and for the same reason.
{{ config(materialized='table') }}

with

observations as (

    select * from {{ ref('int_driver_observations') }}
    where
        {{ in_rebuild_quarters('quarter_start_date') }}
        -- responses without a quarter belong to no analysis group
        and quarter_start_date is not null

),

driver_outcomes as (

    select * from {{ ref('driver_outcomes') }}

),

measure_values as (

    {{ driver_outcome_rows('observations', carried=['quarter_start_date', 'segment']) }}

),

final as (

    select
        measure_values.response_id,
        measure_values.quarter_start_date,
        measure_values.segment,
        driver_outcomes.outcome,
        driver_outcomes.measure as outcome_measure,
        measure_values.outcome_value
    from measure_values
    inner join driver_outcomes
        on measure_values.outcome_measure = driver_outcomes.measure

)

select * from final
