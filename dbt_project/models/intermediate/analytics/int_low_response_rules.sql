-- Which satisfaction measures make a response low for the at-risk reasons of customer_risk (one
-- row): the seed low_response_measures, adapted to what the deployment delivered
-- (stg_deployment__delivered_columns). A measure whose columns were never delivered never counts;
-- a rule (latest response, consecutive low responses) none of whose measures was delivered uses
-- every delivered measure, so a CSAT-only or NPS-only programme works with the default seed; with
-- no measure delivered at all, low_measures_null_reason says so.
with

low_response_measures as (

    select * from {{ ref('low_response_measures') }}

),

delivered_columns as (

    select * from {{ ref('stg_deployment__delivered_columns') }}

),

measure_delivery as (

    -- a measure is usable when the columns it is computed from were delivered (CSI: all three)
    select
        low_response_measures.measure,
        low_response_measures.in_latest_response_low,
        low_response_measures.in_consecutive_low,
        count(delivered_columns.column_name) = case
            when low_response_measures.measure = 'low_csi' then 3 else 1
        end as is_delivered
    from low_response_measures
    left join delivered_columns
        on
            delivered_columns.entity = 'survey_responses'
            and (
                (
                    low_response_measures.measure = 'detractor'
                    and delivered_columns.column_name = 'likelihood_to_recommend'
                )
                or (
                    low_response_measures.measure = 'low_csat'
                    and delivered_columns.column_name = 'csat_score'
                )
                or (
                    low_response_measures.measure = 'low_csi'
                    and delivered_columns.column_name in (
                        'overall_satisfaction', 'expectation_confirmation', 'ideal_comparison'
                    )
                )
                or (
                    low_response_measures.measure = 'not_satisfied'
                    and delivered_columns.column_name = 'is_satisfied'
                )
            )
    group by
        low_response_measures.measure,
        low_response_measures.in_latest_response_low,
        low_response_measures.in_consecutive_low

),

measure_fallback as (

    -- when none of the measures a rule names was delivered, the rule uses every delivered one
    select
        coalesce(max(case when is_delivered and in_latest_response_low then 1 end), 0) = 0
            as latest_falls_back,
        coalesce(max(case when is_delivered and in_consecutive_low then 1 end), 0) = 0
            as consecutive_falls_back
    from measure_delivery

),

measure_rules as (

    select
        measure_delivery.measure,
        measure_delivery.is_delivered
        and (measure_delivery.in_latest_response_low or measure_fallback.latest_falls_back)
            as in_latest,
        measure_delivery.is_delivered
        and (measure_delivery.in_consecutive_low or measure_fallback.consecutive_falls_back)
            as in_consecutive
    from measure_delivery
    cross join measure_fallback

),

final as (

    -- one row: which measures count for the latest response and for consecutive low responses
    select
        {%- for measure in ['detractor', 'low_csi', 'low_csat', 'not_satisfied'] %}
            {%- for use in ['latest', 'consecutive'] %}
                coalesce(max(case when measure = '{{ measure }}' and in_{{ use }} then 1 end), 0)
                = 1
                    as {{ use }}_uses_{{ measure }},
            {%- endfor %}
        {%- endfor %}
        case
            when coalesce(max(case when in_latest or in_consecutive then 1 end), 0) = 0
                then 'no satisfaction measure delivered'
        end as low_measures_null_reason
    from measure_rules

)

select * from final
