-- One row per contract entity: is it delivered? Read from raw.entity_delivery, which ingestion
-- rewrites on every connection (dagster_project/ingestion/warehouse.py).
with

source as (

    select
        entity,
        source,
        is_declared,
        is_delivered,
        rows_loaded,
        first_loaded_at,
        last_loaded_at
    from {{ source('deployment', 'entity_delivery') }}

),

final as (

    select
        cast(entity as {{ dbt.type_string() }}) as entity,
        cast(source as {{ dbt.type_string() }}) as source,
        coalesce(cast(is_declared as {{ dbt.type_boolean() }}), false) as is_declared,
        coalesce(cast(is_delivered as {{ dbt.type_boolean() }}), false) as is_delivered,
        coalesce(cast(rows_loaded as {{ dbt.type_bigint() }}), 0) as rows_loaded,
        cast(first_loaded_at as {{ dbt.type_timestamp() }}) as first_loaded_at,
        cast(last_loaded_at as {{ dbt.type_timestamp() }}) as last_loaded_at
    from source

)

select * from final
