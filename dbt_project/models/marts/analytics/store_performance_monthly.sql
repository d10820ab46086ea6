-- Store performance per month: CSAT, NPS, complaints, first-contact resolution, median
-- resolution time and SLA attainment of the responses and complaints attributed to the store
-- (the store of the order concerned, else the customer's home store), with the store's rank
-- within its region (ranked only with enough responses or resolved complaints: seed
-- analytics_thresholds.ranking_min_sample).
{% set region_month = ['region', 'month_start_date'] %}

with

performance as (

    select * from {{ ref('int_performance_monthly') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

stores as (

    select * from {{ ref('dim_store') }}

),

store_months as (

    select
        performance.*,
        stores.store_key,
        coalesce(stores.region, 'unknown') as region,
        performance.csat_response_count >= parameters.ranking_min_sample as is_csat_rankable,
        performance.nps_response_count >= parameters.ranking_min_sample as is_nps_rankable,
        performance.complaints_resolved_count >= parameters.ranking_min_sample
            as is_sla_rankable
    from performance
    cross join parameters
    left join stores
        on performance.performer_id = stores.store_id
    where performance.performer_type = 'store'

),

final as (

    select
        {{ surrogate_key(['performer_id', 'month_start_date']) }} as store_performance_key,
        store_key,
        performer_id as store_id,
        region,
        month_start_date,
        response_count,
        nps_response_count,
        nps,
        csat_response_count,
        csat_pct,
        complaints_opened_count,
        complaints_resolved_count,
        first_contact_resolution_pct,
        resolution_hours_median,
        sla_attainment_pct,
        {{ rank_within('csat_pct', 'is_csat_rankable', region_month) }}
            as csat_rank_in_region,
        {{ rank_within('nps', 'is_nps_rankable', region_month) }}
            as nps_rank_in_region,
        {{ rank_within('sla_attainment_pct', 'is_sla_rankable', region_month) }}
            as sla_rank_in_region,
        count(*) over (partition by region, month_start_date) as region_store_count
    from store_months

)

select * from final
