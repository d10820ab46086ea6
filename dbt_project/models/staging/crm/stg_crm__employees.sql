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
        _row_number,
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
        _loaded_at as loaded_at,
        row_number() over (
            partition by employee_id
            order by _loaded_at desc, _row_number desc
        ) as version_rank
    from source

),

final as (

    select
        employee_id,
        role,
        team,
        store_id,
        hired_date,
        source_file,
        loaded_at
    from typed
    where version_rank = 1

)

select * from final
