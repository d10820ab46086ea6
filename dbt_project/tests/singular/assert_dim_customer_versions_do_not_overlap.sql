-- Every customer has exactly one current version and its versions' effective ranges do not
-- overlap, so a fact's point-in-time join finds at most one version.
with

dim_customer as (

    select * from {{ ref('dim_customer') }}

),

current_counts as (

    select
        customer_id,
        sum(case when is_current then 1 else 0 end) as current_versions
    from dim_customer
    group by customer_id

),

overlapping_versions as (

    select
        earlier.customer_id,
        earlier.customer_key
    from dim_customer as earlier
    inner join dim_customer as later
        on
            earlier.customer_id = later.customer_id
            and earlier.customer_key <> later.customer_key
            and earlier.effective_from_at < later.effective_to_at
            and earlier.effective_to_at > later.effective_from_at

),

final as (

    select
        customer_id,
        {{ dbt.concat([
            "'current versions: '",
            "cast(current_versions as " ~ dbt.type_string() ~ ")"
        ]) }} as problem
    from current_counts
    where current_versions <> 1
    union all
    select
        customer_id,
        'overlapping versions' as problem
    from overlapping_versions

)

select * from final
