with

source as (

    select
        response_id,
        survey_id,
        customer_id,
        submitted_at,
        channel,
        touchpoint,
        likelihood_to_recommend,
        csat_score,
        effort_score,
        overall_satisfaction,
        expectation_confirmation,
        ideal_comparison,
        order_id,
        ticket_id,
        language,
        comment,
        is_satisfied,
        _source_file,
        _loaded_at
    from {{ source('survey', 'survey_responses') }}

),

typed as (

    select
        nullif(trim(cast(response_id as {{ dbt.type_string() }})), '') as response_id,
        nullif(trim(cast(survey_id as {{ dbt.type_string() }})), '') as survey_id,
        nullif(trim(cast(customer_id as {{ dbt.type_string() }})), '') as customer_id,
        cast(submitted_at as {{ dbt.type_timestamp() }}) as submitted_at,
        {{ clean_enum('channel') }} as channel,
        {{ clean_enum('touchpoint') }} as touchpoint,
        cast(likelihood_to_recommend as {{ dbt.type_bigint() }}) as likelihood_to_recommend,
        cast(csat_score as {{ dbt.type_bigint() }}) as csat_score,
        cast(effort_score as {{ dbt.type_bigint() }}) as effort_score,
        cast(overall_satisfaction as {{ dbt.type_bigint() }}) as overall_satisfaction,
        cast(expectation_confirmation as {{ dbt.type_bigint() }}) as expectation_confirmation,
        cast(ideal_comparison as {{ dbt.type_bigint() }}) as ideal_comparison,
        nullif(trim(cast(order_id as {{ dbt.type_string() }})), '') as order_id,
        nullif(trim(cast(ticket_id as {{ dbt.type_string() }})), '') as ticket_id,
        {{ clean_enum('language') }} as language,
        cast(comment as {{ dbt.type_string() }}) as comment,
        cast(is_satisfied as {{ dbt.type_boolean() }}) as is_satisfied,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source

)

select * from typed
