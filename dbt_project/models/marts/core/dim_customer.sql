-- Customers with the history of their CRM attributes (type 2, from the snapshot of CRM customers):
-- one row per customer version. Facts point at the version valid when their event happened; the
-- first version also covers events before it was recorded. No personal data in clear: e-mail and
-- phone only as the keyed pseudonyms of the customer's current record, on every version.
with

snapshot as (

    select * from {{ ref('snap_crm__customers') }}

),

pseudonyms as (

    select * from {{ ref('stg_crm__customer_pseudonyms') }}

),

versions as (

    select
        *,
        row_number() over (partition by customer_id order by dbt_valid_from) as version_number,
        row_number() over (
            partition by customer_id order by dbt_valid_from desc
        ) as version_rank_desc
    from snapshot

),

current_versions as (

    select
        customer_id,
        segment as current_segment,
        region as current_region
    from versions
    where version_rank_desc = 1

),

final as (

    select
        {{ surrogate_key(['versions.customer_id', 'versions.dbt_valid_from']) }} as customer_key,
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
        versions.dbt_valid_from as valid_from_at,
        versions.dbt_valid_to as valid_to_at,
        case
            when versions.version_number = 1
                then cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
            else versions.dbt_valid_from
        end as effective_from_at,
        coalesce(
            versions.dbt_valid_to, cast('9999-12-31 00:00:00' as {{ dbt.type_timestamp() }})
        ) as effective_to_at,
        versions.version_rank_desc = 1 as is_current
    from versions
    inner join current_versions
        on versions.customer_id = current_versions.customer_id
    left join pseudonyms
        on versions.customer_id = pseudonyms.customer_id

)

select * from final
