-- One row: what groups the customers of each loyalty-linkage KPI (KPIS.md), by the measures the
-- deployment delivered. Churn by NPS category, else by CSAT band; repeat purchase by CSI band (all
-- three CSI items), else by CSAT band; NULL when neither measure was delivered. Read by
-- int_loyalty_members (the groups) and loyalty_linkage_monthly (the groups shown, the NULL reason).
with

delivered_columns as (

    select * from {{ ref('stg_deployment__delivered_columns') }}
    where entity = 'survey_responses'

),

final as (

    select
        case
            when sum(case when column_name = 'likelihood_to_recommend' then 1 else 0 end) > 0
                then 'nps_category'
            when sum(case when column_name = 'csat_score' then 1 else 0 end) > 0
                then 'csat_band'
        end as churn_grouping,
        case
            when
                sum(
                    case
                        when
                            column_name in (
                                'overall_satisfaction', 'expectation_confirmation',
                                'ideal_comparison'
                            )
                            then 1
                        else 0
                    end
                ) = 3
                then 'csi_band'
            when sum(case when column_name = 'csat_score' then 1 else 0 end) > 0
                then 'csat_band'
        end as repeat_grouping
    from delivered_columns

)

select * from final
