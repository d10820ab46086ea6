-- No personal data: names, e-mails, phones and birth dates stay in raw (e-mails and phones reach
-- the marts only as the keyed pseudonyms of stg_crm__customer_pseudonyms; see SECURITY.md).
with

source as (

    select
        customer_id,
        gender,
        city,
        region,
        segment,
        signup_at,
        store_id,
        account_manager_id,
        updated_at,
        _source_file,
        _loaded_at
    from {{ source('crm', 'customers') }}

),

typed as (

    select
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_id,
        {{ clean_enum('gender') }} as gender,
        cast(city as {{ dbt.type_string() }}) as city,
        {{ clean_enum('region') }} as region,
        {{ clean_enum('segment') }} as segment,
        cast(signup_at as {{ dbt.type_timestamp() }}) as signup_at,
        nullif(trim(cast(store_id as {{ dbt.type_string() }})), '') as store_id,
        nullif(trim(cast(account_manager_id as {{ dbt.type_string() }})), '') as account_manager_id,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source

)

select * from typed
