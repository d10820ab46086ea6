-- Customers with the history of their CRM attributes (type 2, from int_customers_history: every
-- delivered version, in portable SQL): one row per customer version. Facts point at the version
-- valid when their event happened; the first version also covers events before it was recorded.
-- No personal data in clear: e-mail and phone only as the keyed pseudonyms of the customer's
-- current record, on every version.
with

history as (

    select * from {{ ref('int_customers_history') }}

),

pseudonyms as (

    select * from {{ ref('stg_crm__customer_pseudonyms') }}

),

current_versions as (

    select
        customer_id,
        segment as current_segment,
        region as current_region
    from history
    where is_current

),

final as (

    select
        {{ surrogate_key(['versions.customer_id', 'versions.valid_from_at']) }} as customer_key,
        versions.customer_id,
        versions.version_number,
        pseudonyms.email_pseudonym as email_hash,
        pseudonyms.phone_pseudonym as phone_hash,
        versions.gender,
        versions.city,
        coalesce(versions.region, 'unknown') as region,
        coalesce(versions.segment, 'unknown') as segment,
        coalesce(current_versions.current_region, 'unknown') as current_region,
        coalesce(current_versions.current_segment, 'unknown') as current_segment,
        versions.signup_at,
        versions.store_id,
        versions.account_manager_id,
        versions.updated_at,
        versions.valid_from_at,
        versions.valid_to_at,
        case
            when versions.version_number = 1
                then cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
            else versions.valid_from_at
        end as effective_from_at,
        coalesce(
            versions.valid_to_at, cast('9999-12-31 00:00:00' as {{ dbt.type_timestamp() }})
        ) as effective_to_at,
        versions.is_current
    from history as versions
    inner join current_versions
        on versions.customer_id = current_versions.customer_id
    left join pseudonyms
        on versions.customer_id = pseudonyms.customer_id

)

select * from final
