-- One row per outcome of the key-driver analysis (seed driver_outcomes) and candidate driver
-- (int_drivers) paired with it: every driver with every outcome but the one it measures itself
-- (CSAT does not explain itself when it is the outcome). Whether the outcome was delivered (a value
-- on any response with a quarter) is decided over the whole history, not per quarter: an outcome
-- never delivered says so in every quarter instead of a result. int_driver_correlations gives
-- every analysis group (quarter and segment) these rows, and int_rebuild_quarters recomputes every
-- quarter when they differ from what the previous build's statistics were made of.
with

observations as (

    select * from {{ ref('int_driver_observations') }}
    where quarter_start_date is not null

),

drivers as (

    select * from {{ ref('int_drivers') }}

),

driver_outcomes as (

    select * from {{ ref('driver_outcomes') }}

),

outcome_rows as (

    {{ driver_outcome_rows('observations') }}

),

delivered_measures as (

    select distinct outcome_measure as measure
    from outcome_rows

),

final as (

    select
        driver_outcomes.outcome,
        driver_outcomes.measure as outcome_measure,
        delivered_measures.measure is not null as is_outcome_delivered,
        drivers.driver,
        drivers.driver_group,
        drivers.driver_measure,
        drivers.is_lower_better,
        drivers.scale_min,
        drivers.scale_max,
        drivers.performance_basis
    from driver_outcomes
    cross join drivers
    left join delivered_measures
        on driver_outcomes.measure = delivered_measures.measure
    where drivers.driver_measure <> driver_outcomes.measure

)

select * from final
