with

source as (

    select
        order_id,
        customer_id,
        ordered_at,
        status,
        channel,
        store_id,
        product_category,
        amount,
        currency,
        _source_file,
        _loaded_at
    from {{ source('crm', 'orders') }}

),

typed as (

    select
        nullif(trim(cast(order_id as {{ dbt.type_string() }})), '') as order_id,
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_id,
        cast(ordered_at as {{ dbt.type_timestamp() }}) as ordered_at,
        {{ clean_enum('status') }} as status,
        {{ clean_enum('channel') }} as channel,
        nullif(trim(cast(store_id as {{ dbt.type_string() }})), '') as store_id,
        {{ clean_enum('product_category') }} as product_category,
        cast(amount as {{ dbt.type_numeric() }}) as amount,
        nullif(upper(trim(currency)), '') as currency,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source

)

select * from typed
