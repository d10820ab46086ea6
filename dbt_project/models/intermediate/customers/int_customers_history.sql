-- Type 2 history of CRM customers, derived in portable SQL from every delivered version
-- (stg_crm__customers_history) with the rule a dbt snapshot (timestamp strategy on updated_at)
-- applies run by run: a delivered version opens a new version only when its updated_at is later
-- than that of every version delivered before it (an older or equal updated_at delivered later
-- changes nothing). A version is valid from its updated_at to the next version's. updated_at falls
-- back to signup_at, then to the version's load time, when the CRM sends none. No personal data.
with

delivered as (

    select * from {{ ref('stg_crm__customers_history') }}

),

stamped as (

    select
        *,
        coalesce(updated_at, signup_at, loaded_at) as version_at
    from delivered

),

compared as (

    select
        *,
        max(version_at) over (
            partition by customer_id
            order by delivery_seq
            rows between unbounded preceding and 1 preceding
        ) as latest_earlier_version_at
    from stamped

),

versions as (

    select * from compared
    where latest_earlier_version_at is null or version_at > latest_earlier_version_at

),

numbered as (

    select
        customer_id,
        cast(
            row_number() over (partition by customer_id order by version_at)
            as {{ dbt.type_bigint() }}
        ) as version_number,
        gender,
        city,
        region,
        segment,
        signup_at,
        store_id,
        account_manager_id,
        version_at as updated_at,
        version_at as valid_from_at,
        lead(version_at) over (partition by customer_id order by version_at) as valid_to_at
    from versions

),

final as (

    select
        *,
        valid_to_at is null as is_current
    from numbered

)

select * from final
