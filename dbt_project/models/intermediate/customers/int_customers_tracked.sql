-- The CRM customer attributes the snapshot tracks, without personal data: no names, birth dates,
-- e-mails or phones, not even pseudonymised (a snapshot keeps history that a key rotation or an
-- erasure would otherwise have to rewrite; dim_customer joins the current pseudonyms instead).
with

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

final as (

    select
        customer_id,
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
