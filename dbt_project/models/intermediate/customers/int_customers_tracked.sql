-- The CRM customer attributes the snapshot tracks, without personal data in clear:
-- e-mail and phone are hashed (for matching), names and birth dates are dropped.
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

final as (

    select
        customer_id,
        {{ dbt.hash('lower(trim(email))') }} as email_hash,
        {{ dbt.hash('trim(phone)') }} as phone_hash,
        gender,
        city,
        region,
        segment,
        signup_at,
        store_id,
        account_manager_id,
        coalesce(updated_at, signup_at, loaded_at) as updated_at
    from customers

)

select * from final
