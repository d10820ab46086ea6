with

source as (

    select
        subscription_id,
        customer_id,
        plan,
        started_at,
        ended_at,
        mrr,
        cancel_reason,
        _source_file,
        _loaded_at
    from {{ source('churn', 'subscriptions') }}

),

typed as (

    select
        nullif(trim(cast(subscription_id as {{ dbt.type_string() }})), '') as subscription_id,
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_id,
        {{ clean_enum('plan') }} as plan,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at,
        cast(mrr as {{ dbt.type_numeric() }}) as mrr,
        {{ clean_enum('cancel_reason') }} as cancel_reason,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source

)

select * from typed
