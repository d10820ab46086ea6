-- One row per contract entity: is it delivered? Read from raw.entity_delivery (written by
-- ingestion); a warehouse without that table falls back to the raw tables (macro
-- entity_delivery_rows: an entity is delivered when its raw table holds rows).
with

source as (

    {{ entity_delivery_rows(source('deployment', 'entity_delivery')) }}

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
