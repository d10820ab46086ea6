-- Closed-loop follow-up: detractor responses and low-CSAT responses of known customers that did
-- not get a follow-up contact (a ticket of the customer opened, or first answered, at or after
-- the response, or a recorded follow-up of the followups entity for the customer or the response)
-- within the follow-up window (48 h by default), with how long they have waited: until the late
-- follow-up, or until the as-of time when there is none yet.
with

responses as (

    select * from {{ ref('int_analytics_responses') }}

),

response_customers as (

    -- the customer of each response, for a follow-up that names only the response: a read of its
    -- own, so that `responses` is read once and DuckDB does not materialise every row and column
    -- of it for two readers (15.5 -> 6.5 s at 10M responses)
    select
        response_id,
        customer_id
    from {{ ref('int_analytics_responses') }}

),

tickets as (

    select * from {{ ref('stg_complaints__tickets') }}

),

followups as (

    select * from {{ ref('stg_survey__followups') }}

),

as_of as (

    select as_of_at from {{ ref('int_calendar_bounds') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

survey_responses as (

    select * from {{ ref('fct_survey_responses') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

stores as (

    select * from {{ ref('dim_store') }}

),

employees as (

    select * from {{ ref('dim_employee') }}

),

triggers as (

    select * from responses
    where customer_id is not null and (is_detractor or is_low_csat)

),

contacts as (

    select
        customer_id,
        ticket_id,
        opened_at as contact_at
    from tickets
    union all
    select
        customer_id,
        ticket_id,
        first_response_at as contact_at
    from tickets
    where first_response_at is not null
    union all
    -- a recorded follow-up names the customer, or the response it follows up
    select
        coalesce(followups.customer_id, followed_responses.customer_id) as customer_id,
        followups.ticket_id,
        followups.followed_up_at as contact_at
    from followups
    left join response_customers as followed_responses
        on followups.response_id = followed_responses.response_id

),

first_contacts as (

    select
        triggers.response_id,
        contacts.ticket_id,
        contacts.contact_at,
        row_number() over (
            partition by triggers.response_id
            order by contacts.contact_at, contacts.ticket_id
        ) as contact_number
    from triggers
    inner join contacts
        on
            triggers.customer_id = contacts.customer_id
            and triggers.submitted_at <= contacts.contact_at

),

timed as (

    select
        triggers.*,
        first_contacts.ticket_id as followup_ticket_id,
        first_contacts.contact_at as followup_at,
        as_of.as_of_at,
        parameters.followup_window_hours,
        {{ hours_between('triggers.submitted_at', 'first_contacts.contact_at') }}
            as hours_to_followup,
        {{ hours_between('triggers.submitted_at', 'as_of.as_of_at') }} as hours_since_response
    from triggers
    cross join as_of
    cross join parameters
    left join first_contacts
        on
            triggers.response_id = first_contacts.response_id
            and first_contacts.contact_number = 1

),

queued as (

    select * from timed
    where hours_to_followup is null or hours_to_followup > followup_window_hours

),

final as (

    select
        survey_responses.response_key as followup_key,
        survey_responses.response_key,
        queued.response_id,
        current_customers.customer_key,
        queued.customer_id,
        stores.store_key,
        queued.store_id,
        account_managers.employee_key as account_manager_key,
        queued.account_manager_id,
        queued.segment,
        queued.touchpoint,
        queued.submitted_at,
        queued.likelihood_to_recommend,
        queued.csat_score,
        case
            when queued.is_detractor and queued.is_low_csat then 'detractor_and_low_csat'
            when queued.is_detractor then 'detractor'
            else 'low_csat'
        end as trigger_reason,
        queued.followup_at,
        queued.followup_ticket_id,
        coalesce(queued.hours_to_followup, queued.hours_since_response) as hours_waited,
        case
            when queued.followup_at is not null then 'followed_up_late'
            when queued.hours_since_response > queued.followup_window_hours then 'overdue'
            else 'pending'
        end as followup_status,
        queued.followup_at is null as is_open,
        queued.followup_at is not null
        or queued.hours_since_response > queued.followup_window_hours as is_overdue,
        queued.as_of_at
    from queued
    inner join survey_responses
        on queued.response_id = survey_responses.response_id
    left join customers as current_customers
        on
            queued.customer_id = current_customers.customer_id
            and current_customers.is_current
    left join stores
        on queued.store_id = stores.store_id
    left join employees as account_managers
        on queued.account_manager_id = account_managers.employee_id

)

select * from final
