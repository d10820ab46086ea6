{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_in_scope(in_rebuild_quarters('quarter_start_date')) }}"
) }}
-- The pairwise results of the key-driver analysis (driver_importance_quarterly): one row per
-- quarter, segment (`all` = every response), outcome (seed driver_outcomes) and driver
-- (int_drivers; CSAT does not explain itself when it is the outcome), over the responses with both
-- the driver and the outcome: the sample size, the Pearson correlation, the driver's performance,
-- the importance by correlation (sign flipped for a lower-is-better driver) and, when a result is
-- missing, why. Every group of int_driver_observations gets every driver, with sample_size 0 where
-- nothing was measured, so the mart says why a result is missing instead of leaving the row out.
-- The dimensions' regression (weights, R squared, relative weights) and the ranks and quadrants
-- are computed from this and int_driver_regression_inputs by the Dagster asset
-- driver_importance_quarterly (dagster_project/assets/key_drivers.py). Incremental by quarter on
-- DuckDB: only the quarters of int_rebuild_quarters are recomputed.
with

observations as (

    select * from {{ ref('int_driver_observations') }}
    where {{ in_rebuild_quarters('quarter_start_date') }}

),

driver_pairs as (

    select * from {{ ref('int_driver_pairs') }}

),

response_values as (

    select * from {{ ref('int_driver_response_values') }}

),

response_outcomes as (

    select * from {{ ref('int_driver_response_outcomes') }}

),

regression_inputs as (

    select * from {{ ref('int_driver_regression_inputs') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

analysis_groups as (

    -- the quarters of the responses, each with its segments and `all`
    select distinct
        quarter_start_date,
        segment
    from observations
    where quarter_start_date is not null and segment is not null
    union all
    select distinct
        quarter_start_date,
        'all' as segment
    from observations
    where quarter_start_date is not null

),

grid as (

    select
        analysis_groups.quarter_start_date,
        analysis_groups.segment,
        driver_pairs.*
    from analysis_groups
    cross join driver_pairs

),

pairs as (

    select
        response_outcomes.quarter_start_date,
        response_outcomes.segment,
        response_outcomes.outcome,
        response_outcomes.outcome_value,
        response_values.driver,
        response_values.driver_value,
        response_values.is_resolution_sla_met
    from response_outcomes
    inner join response_values
        on response_outcomes.response_id = response_values.response_id

),

pair_statistics as (

    select
        quarter_start_date,
        {{ analysis_segment() }} as segment,
        outcome,
        driver,
        count(*) as sample_size,
        min(driver_value) < max(driver_value)
        and min(outcome_value) < max(outcome_value) as has_variance,
        corr(driver_value, outcome_value) as raw_correlation,
        avg(driver_value) as driver_mean,
        avg(
            case when is_resolution_sla_met then 1 else 0 end
        ) as sla_met_share
    from pairs
    {{ group_by_analysis_groups(['outcome', 'driver']) }}

),

regression_samples as (

    -- the diagonal rows: one per group, outcome and dimension
    select
        quarter_start_date,
        segment,
        outcome,
        dimension,
        regression_sample_size
    from regression_inputs
    where dimension = paired_dimension

),

measured as (

    select
        grid.*,
        coalesce(pair_statistics.sample_size, 0) as sample_size,
        coalesce(pair_statistics.has_variance, false) as has_variance,
        pair_statistics.raw_correlation,
        pair_statistics.driver_mean,
        pair_statistics.sla_met_share,
        case
            when grid.driver_group = 'servqual_dimension'
                then coalesce(regression_samples.regression_sample_size, 0)
        end as regression_sample_size,
        cast(floor(parameters.driver_min_sample) as bigint) as min_sample
    from grid
    cross join parameters
    -- the grid's groups only: not the per-segment group of the responses without a segment
    left join pair_statistics
        on
            grid.quarter_start_date = pair_statistics.quarter_start_date
            and grid.segment = pair_statistics.segment
            and grid.outcome = pair_statistics.outcome
            and grid.driver = pair_statistics.driver
    left join regression_samples
        on
            grid.quarter_start_date = regression_samples.quarter_start_date
            and grid.segment = regression_samples.segment
            and grid.outcome = regression_samples.outcome
            and grid.driver = regression_samples.dimension

),

scored as (

    select
        *,
        sample_size >= min_sample as is_sample_sufficient,
        case
            when sample_size >= min_sample and has_variance
                then {{ clip_correlation('raw_correlation') }}
        end as correlation
    from measured

),

final as (

    select
        quarter_start_date,
        segment,
        outcome,
        outcome_measure,
        is_outcome_delivered,
        driver,
        driver_group,
        driver_measure,
        is_lower_better,
        scale_min,
        scale_max,
        performance_basis,
        sample_size,
        is_sample_sufficient,
        correlation,
        regression_sample_size,
        case when is_lower_better then -correlation else correlation end as importance,
        case when correlation is not null then 'correlation' end as importance_basis,
        case
            when is_sample_sufficient and performance_basis in ('scale', 'sla_met')
                then driver_mean
        end as performance_mean,
        case
            when not is_sample_sufficient then null
            when performance_basis = 'scale'
                then 100 * (driver_mean - scale_min) / (scale_max - scale_min)
            when performance_basis = 'index' then driver_mean
            when performance_basis = 'sla_met' then 100 * sla_met_share
        end as performance_index,
        case
            when is_sample_sufficient and not has_variance
                then 'no variance in the driver or the outcome'
            when not is_outcome_delivered
                then {{ dbt.concat(["'outcome not delivered: '", "outcome_measure"]) }}
            when not is_sample_sufficient
                then {{ dbt.concat([
                    "'too few responses with the driver and the outcome ('",
                    "cast(sample_size as " ~ dbt.type_string() ~ ")",
                    "' < '",
                    "cast(min_sample as " ~ dbt.type_string() ~ ")",
                    "')'",
                ]) }}
        end as not_run_reason
    from scored

)

select * from final
