-- No personal data: employees' names stay in raw (no model needs them).
with

source as (

    select
        employee_id,
        role,
        team,
        store_id,
        hired_at,
        _source_file,
        _loaded_at
    from {{ source('crm', 'employees') }}

),

typed as (

    select
        nullif(trim(cast(employee_id as {{ dbt.type_string() }})), '') as employee_id,
        {{ clean_enum('role') }} as role,
        {{ clean_enum('team') }} as team,
        nullif(trim(cast(store_id as {{ dbt.type_string() }})), '') as store_id,
        cast(hired_at as date) as hired_date,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source

)

select * from typed
