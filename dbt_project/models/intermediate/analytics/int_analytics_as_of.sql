-- One row: the "now" of the analytics marts, the latest timestamp of something that has happened
-- in the warehouse (survey responses, orders of any status, every ticket timestamp, subscription
-- starts). Subscription ends are left out: an end can be scheduled in the future, and "ending
-- soon" is measured against this time. Marts built on the same data are the same whenever built.
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

events as (

    select submitted_at as event_at from survey_responses
    union all
    select ordered_at as event_at from orders
    union all
    select opened_at as event_at from tickets
    union all
    select first_response_at as event_at from tickets
    union all
    select resolved_at as event_at from tickets
    union all
    select closed_at as event_at from tickets
    union all
    select started_at as event_at from subscriptions

),

final as (

    select max(event_at) as as_of_at
    from events

)

select * from final
