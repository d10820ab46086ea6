-- One row per (entity, contract column) that at least one delivered file carried. Read from
-- raw.delivered_columns (written by ingestion); a warehouse without that table falls back to the
-- raw tables (macro delivered_column_rows: every column of a raw table holding rows).
with

source as (

    {{ delivered_column_rows(source('deployment', 'delivered_columns')) }}

),

final as (

    select distinct
        lower(trim(cast(entity as {{ dbt.type_string() }}))) as entity,
        lower(trim(cast(column_name as {{ dbt.type_string() }}))) as column_name
    from source
    where entity is not null and column_name is not null

)

select * from final
