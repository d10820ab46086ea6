with

source as (

    select
        ticket_id,
        customer_id,
        ticket_type,
        channel,
        category,
        severity,
        opened_at,
        first_response_at,
        resolved_at,
        closed_at,
        status,
        reopen_count,
        contact_count,
        escalated,
        agent_id,
        order_id,
        description,
        company_response_at,
        sla_met,
        _source_file,
        _loaded_at
    from {{ source('complaints', 'tickets') }}

),

typed as (

    select
        nullif(trim(cast(ticket_id as {{ dbt.type_string() }})), '') as ticket_id,
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_id,
        {{ clean_enum('ticket_type') }} as ticket_type,
        {{ clean_enum('channel') }} as channel,
        {{ clean_enum('category') }} as category,
        {{ clean_enum('severity') }} as severity,
        cast(opened_at as {{ dbt.type_timestamp() }}) as opened_at,
        cast(first_response_at as {{ dbt.type_timestamp() }}) as first_response_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at,
        cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,
        {{ clean_enum('status') }} as status,
        cast(reopen_count as {{ dbt.type_bigint() }}) as reopen_count,
        cast(contact_count as {{ dbt.type_bigint() }}) as contact_count,
        cast(escalated as {{ dbt.type_boolean() }}) as is_escalated,
        nullif(trim(cast(agent_id as {{ dbt.type_string() }})), '') as agent_id,
        nullif(trim(cast(order_id as {{ dbt.type_string() }})), '') as order_id,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(company_response_at as {{ dbt.type_timestamp() }}) as company_response_at,
        cast(sla_met as {{ dbt.type_boolean() }}) as is_sla_met_by_source,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source

)

select * from typed
