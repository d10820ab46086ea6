-- One row: the month range of the KPI grid (first to last month with any survey response,
-- valid order, ticket or subscription start), the day range of dim_date, and the as-of time:
-- the latest timestamp of something that has happened (used instead of now() so that marts
-- built on the same data are the same whenever built). Subscription ends are left out of the
-- as-of time, since an end can be scheduled in the future, but dim_date covers them.
with

survey_responses as (

    select * from {{ ref('stg_survey__survey_responses') }}

),

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

tickets as (

    select * from {{ ref('stg_complaints__tickets') }}

),

subscriptions as (

    select * from {{ ref('stg_churn__subscriptions') }}

),

grid_events as (

    select submitted_at as event_at from survey_responses
    union all
    select ordered_at as event_at from orders
    where status is null or status not in ('cancelled', 'refunded')
    union all
    select opened_at as event_at from tickets
    union all
    select started_at as event_at from subscriptions

),

happened_events as (

    select event_at from grid_events
    union all
    select ordered_at as event_at from orders
    union all
    select first_response_at as event_at from tickets
    union all
    select resolved_at as event_at from tickets
    union all
    select closed_at as event_at from tickets

),

all_events as (

    select event_at from happened_events
    union all
    select ended_at as event_at from subscriptions

),

grid_bounds as (

    select
        min(event_at) as first_grid_event_at,
        max(event_at) as last_grid_event_at
    from grid_events

),

all_bounds as (

    select
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from all_events

),

as_of as (

    select max(event_at) as as_of_at
    from happened_events

),

final as (

    select
        {{ reporting_month('grid_bounds.first_grid_event_at') }} as first_month_start_date,
        {{ reporting_month('grid_bounds.last_grid_event_at') }} as last_month_start_date,
        {{ reporting_month('all_bounds.first_event_at') }} as first_calendar_date,
        cast(
            {{ dbt.dateadd(
                'day', -1,
                dbt.dateadd(
                    'month', 1,
                    dbt.date_trunc('month', to_reporting_time('all_bounds.last_event_at'))
                )
            ) }} as date
        ) as last_calendar_date,
        as_of.as_of_at,
        {{ reporting_date('as_of.as_of_at') }} as as_of_date
    from grid_bounds
    cross join all_bounds
    cross join as_of

)

select * from final
