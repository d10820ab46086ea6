with

source as (

    select
        store_id,
        store_name,
        city,
        region,
        opened_at,
        _source_file,
        _loaded_at
    from {{ source('crm', 'stores') }}

),

typed as (

    select
        nullif(trim(cast(store_id as {{ dbt.type_string() }})), '') as store_id,
        cast(store_name as {{ dbt.type_string() }}) as store_name,
        cast(city as {{ dbt.type_string() }}) as city,
        {{ clean_enum('region') }} as region,
        cast(opened_at as date) as opened_date,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source

)

select * from typed
