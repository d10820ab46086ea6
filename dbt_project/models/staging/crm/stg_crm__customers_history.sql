-- Every delivered version of every CRM customer, in delivery order (raw.customers keeps only the
-- latest): the input of dim_customer's type 2 history. Ingestion writes raw.customers_history in
-- the transaction that loads raw.customers, so it is read as that source's sibling (a source of
-- its own would be a second dbt source for one Dagster asset). It holds no personal data.
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
        _loaded_at,
        _delivery_seq
    from {{ source('crm', 'customers').incorporate(path={'identifier': 'customers_history'}) }}

),

final as (

    select
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_id,
        cast(_delivery_seq as {{ dbt.type_bigint() }}) as delivery_seq,
        {{ clean_enum('gender') }} as gender,
        cast(city as {{ dbt.type_string() }}) as city,
        {{ clean_enum('region') }} as region,
        {{ clean_enum('segment') }} as segment,
        cast(signup_at as {{ dbt.type_timestamp() }}) as signup_at,
        nullif(trim(cast(store_id as {{ dbt.type_string() }})), '') as store_id,
        nullif(trim(cast(account_manager_id as {{ dbt.type_string() }})), '') as account_manager_id,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        _source_file as source_file,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at
    from source

)

select * from final
