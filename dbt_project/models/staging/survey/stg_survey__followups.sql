-- Closed-loop follow-up contacts, typed, one row per followup_id (latest load wins). The entity is
-- optional: a deployment that records follow-ups only as tickets leaves raw.followups (which
-- ingestion always creates) empty, and so this model.
with

source as (

    select
        followup_id,
        response_id,
        customer_id,
        ticket_id,
        followed_up_at,
        channel,
        employee_id,
        outcome,
        _loaded_at
    from {{ source('survey', 'followups') }}

),

typed as (

    select
        nullif(trim(cast(followup_id as {{ dbt.type_string() }})), '') as followup_id,
        nullif(trim(cast(response_id as {{ dbt.type_string() }})), '') as response_id,
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_id,
        nullif(trim(cast(ticket_id as {{ dbt.type_string() }})), '') as ticket_id,
        cast(followed_up_at as {{ dbt.type_timestamp() }}) as followed_up_at,
        {{ clean_enum('channel') }} as channel,
        nullif(trim(cast(employee_id as {{ dbt.type_string() }})), '') as employee_id,
        cast(outcome as {{ dbt.type_string() }}) as outcome
    from source

)

select * from typed
