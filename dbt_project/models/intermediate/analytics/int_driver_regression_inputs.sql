{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_in_scope(in_rebuild_quarters('quarter_start_date')) }}"
) }}
-- The inputs of the joint regression of each outcome on the questionnaire's dimensions
-- (driver_importance_quarterly), as correlations: one row per quarter, segment (`all` included),
-- outcome and pair of dimensions (dimension <= paired_dimension, so each pair once), over the
-- complete cases, the responses with a value for every dimension and the outcome. The least-
-- squares fit on z-scores only needs these: its weights solve Rxx * beta = rxy, with Rxx the
-- correlations of the dimensions (off-diagonal rows) and rxy their correlations with the outcome
-- (diagonal rows, with whether the dimension or the outcome has no variance). The matrix algebra
-- is in dagster_project/analytics/key_drivers.py. Correlations are those of the sample whether
-- the spreads are taken as population or sample ones (the factor cancels); rounding can step a
-- correlation past +-1, so it is clipped. Incremental by quarter on DuckDB, as
-- int_driver_correlations: its inputs hold only the quarters of int_rebuild_quarters.
with

drivers as (

    select * from {{ ref('int_drivers') }}

),

response_values as (

    select * from {{ ref('int_driver_response_values') }}

),

response_outcomes as (

    select * from {{ ref('int_driver_response_outcomes') }}

),

dimension_values as (

    select
        response_values.response_id,
        response_values.driver as dimension,
        response_values.driver_value
    from response_values
    inner join drivers
        on
            response_values.driver = drivers.driver
            and drivers.driver_group = 'servqual_dimension'

),

dimension_count as (

    select count(*) as dimensions
    from drivers
    where driver_group = 'servqual_dimension'

),

complete_responses as (

    -- responses with a value for every dimension (the outcome is checked per outcome below)
    select dimension_values.response_id
    from dimension_values
    cross join dimension_count
    group by dimension_values.response_id, dimension_count.dimensions
    having count(*) = dimension_count.dimensions

),

complete_cases as (

    select
        response_outcomes.quarter_start_date,
        response_outcomes.segment,
        response_outcomes.outcome,
        response_outcomes.response_id,
        response_outcomes.outcome_value
    from response_outcomes
    inner join complete_responses
        on response_outcomes.response_id = complete_responses.response_id

),

pairs as (

    select
        complete_cases.quarter_start_date,
        complete_cases.segment,
        complete_cases.outcome,
        complete_cases.outcome_value,
        dimension_values.dimension,
        dimension_values.driver_value as dimension_value,
        paired_values.dimension as paired_dimension,
        paired_values.driver_value as paired_value
    from complete_cases
    inner join dimension_values
        on complete_cases.response_id = dimension_values.response_id
    inner join dimension_values as paired_values
        on
            complete_cases.response_id = paired_values.response_id
            and dimension_values.dimension <= paired_values.dimension

),

complete_case_statistics as (

    select
        quarter_start_date,
        {{ analysis_segment() }} as segment,
        outcome,
        dimension,
        paired_dimension,
        count(*) as regression_sample_size,
        min(dimension_value) < max(dimension_value) as has_dimension_variance,
        min(paired_value) < max(paired_value) as has_paired_variance,
        min(outcome_value) < max(outcome_value) as has_outcome_variance,
        corr(dimension_value, paired_value) as paired_correlation,
        corr(dimension_value, outcome_value) as raw_outcome_correlation
    from pairs
    {{ group_by_analysis_groups(['outcome', 'dimension', 'paired_dimension']) }}

),

final as (

    select
        quarter_start_date,
        segment,
        outcome,
        dimension,
        paired_dimension,
        regression_sample_size,
        case
            when dimension = paired_dimension then cast(1 as {{ type_double() }})
            when has_dimension_variance and has_paired_variance
                then {{ clip_correlation('paired_correlation') }}
        end as dimension_correlation,
        case
            when dimension = paired_dimension and has_dimension_variance and has_outcome_variance
                then {{ clip_correlation('raw_outcome_correlation') }}
        end as outcome_correlation,
        case
            when dimension = paired_dimension
                then not has_dimension_variance or not has_outcome_variance
        end as is_constant
    from complete_case_statistics
    -- the per-segment group of the responses without a segment (they are in `all`)
    where segment is not null

)

select * from final
