-- The keyed pseudonyms of customers' e-mails and phones, computed at ingestion (the key never
-- reaches dbt): the only form in which contact data leaves the raw layer. The table
-- raw.customer_pseudonyms is written by the same Dagster asset as raw.customers, so it is read as
-- that source's sibling (a source of its own would be a second dbt source for one Dagster asset).
with

source as (

    select
        customer_id,
        email_pseudonym,
        phone_pseudonym
    from {{ source('crm', 'customers').incorporate(path={'identifier': 'customer_pseudonyms'}) }}

),

final as (

    select
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_id,
        cast(email_pseudonym as {{ dbt.type_string() }}) as email_pseudonym,
        cast(phone_pseudonym as {{ dbt.type_string() }}) as phone_pseudonym
    from source

)

select * from final
