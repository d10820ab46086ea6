-- One row per event entity (survey responses, tickets, orders): is it delivered, the first and
-- last event time, and the latest complete month from the data itself (not the wall clock): a
-- month is complete when the delivery reaches its last day (reporting time zone), so a delivery
-- ending mid-month makes that month partial and the month before is the latest complete one.
-- Subscriptions and the CRM master data are state, not a daily stream of events: they cannot
-- tell a partial month and are left out.
with

entity_delivery as (

    select * from {{ ref('stg_deployment__entity_delivery') }}

),

survey_responses as (

    select * from {{ ref('stg_survey__survey_responses') }}

),

tickets as (

    select * from {{ ref('stg_complaints__tickets') }}

),

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

events as (

    select
        'survey_responses' as entity,
        submitted_at as event_at
    from survey_responses
    union all
    select
        'tickets' as entity,
        opened_at as event_at
    from tickets
    union all
    select
        'orders' as entity,
        ordered_at as event_at
    from orders

),

bounds as (

    select
        entity,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from events
    group by entity

),

final as (

    select
        entity_delivery.entity,
        entity_delivery.is_delivered,
        bounds.first_event_at,
        bounds.last_event_at,
        {{ reporting_date('bounds.last_event_at') }} as last_event_date,
        -- the month of the day after the last event, minus one: the last day of a month -> that
        -- month; any earlier day -> the month before
        cast({{ dbt.dateadd(
            'month', -1,
            dbt.date_trunc('month', dbt.dateadd('day', 1, reporting_date('bounds.last_event_at')))
        ) }} as date) as latest_complete_month_start_date
    from entity_delivery
    inner join bounds
        on entity_delivery.entity = bounds.entity
    where entity_delivery.entity in ('survey_responses', 'tickets', 'orders')

)

select * from final
