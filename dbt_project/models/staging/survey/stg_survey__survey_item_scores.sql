-- A score equal to the item's "not applicable" code (seed survey_items.na_code) is NULL here: the
-- respondent did not rate the item.
with

source as (

    select
        response_id,
        item_code,
        expectation_score,
        perception_score,
        _source_file,
        _loaded_at
    from {{ source('survey', 'survey_item_scores') }}

),

survey_items as (

    select * from {{ ref('survey_items') }}

),

typed as (

    select
        nullif(trim(cast(response_id as {{ dbt.type_string() }})), '') as response_id,
        upper(trim(item_code)) as item_code,
        cast(expectation_score as {{ dbt.type_bigint() }}) as expectation_score,
        cast(perception_score as {{ dbt.type_bigint() }}) as perception_score,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source

),

final as (

    select
        typed.response_id,
        typed.item_code,
        case
            when typed.expectation_score = survey_items.na_code then null
            else typed.expectation_score
        end as expectation_score,
        case
            when typed.perception_score = survey_items.na_code then null
            else typed.perception_score
        end as perception_score,
        typed.source_file,
        typed.loaded_at
    from typed
    left join survey_items
        on typed.item_code = upper(trim(survey_items.item_code))

)

select * from final
