with

source as (

    select
        response_id,
        item_code,
        expectation_score,
        perception_score,
        _source_file,
        _row_number,
        _loaded_at
    from {{ source('survey', 'survey_item_scores') }}

),

typed as (

    select
        nullif(trim(cast(response_id as {{ dbt.type_string() }})), '') as response_id,
        upper(trim(item_code)) as item_code,
        cast(expectation_score as {{ dbt.type_bigint() }}) as expectation_score,
        cast(perception_score as {{ dbt.type_bigint() }}) as perception_score,
        _source_file as source_file,
        _loaded_at as loaded_at,
        row_number() over (
            partition by response_id, item_code
            order by _loaded_at desc, _row_number desc
        ) as version_rank
    from source

),

final as (

    select
        response_id,
        item_code,
        expectation_score,
        perception_score,
        source_file,
        loaded_at
    from typed
    where version_rank = 1

)

select * from final
