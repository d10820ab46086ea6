-- Stores.
with

stores as (

    select * from {{ ref('stg_crm__stores') }}

),

final as (

    select
        {{ surrogate_key(['store_id']) }} as store_key,
        store_id,
        store_name,
        city,
        coalesce(region, 'unknown') as region,
        opened_date
    from stores

)

select * from final
