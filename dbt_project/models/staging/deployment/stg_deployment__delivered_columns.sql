-- One row per (entity, contract column) that at least one delivered file carried. Read from
-- raw.delivered_columns, which ingestion writes per file (and backfills for tables loaded before
-- it recorded deliveries).
with

source as (

    select
        entity,
        column_name
    from {{ source('deployment', 'delivered_columns') }}

),

final as (

    select distinct
        lower(trim(cast(entity as {{ dbt.type_string() }}))) as entity,
        lower(trim(cast(column_name as {{ dbt.type_string() }}))) as column_name
    from source
    where entity is not null and column_name is not null

)

select * from final
