-- Survey responses with what the analytics marts attribute them to: the customer's current home
-- store and account manager (CRM), the agent of the ticket the response is about, and the store
-- they count for (the store of the surveyed order when it has one, else the customer's home
-- store); plus the low-response flags (detractor, CSI below the threshold, CSAT at or below the
-- threshold) and the quarter of the response.
with

responses as (

    select * from {{ ref('int_survey_responses_scored') }}

),

survey_responses as (

    select * from {{ ref('stg_survey__survey_responses') }}

),

customers as (

    select * from {{ ref('stg_crm__customers') }}

),

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

tickets as (

    select * from {{ ref('stg_complaints__tickets') }}

),

parameters as (

    select * from {{ ref('int_analytics_parameters') }}

),

joined as (

    select
        responses.response_id,
        responses.customer_id,
        responses.submitted_at,
        responses.month_start_date,
        cast({{ dbt.date_trunc('quarter', to_reporting_time('responses.submitted_at')) }} as date)
            as quarter_start_date,
        responses.segment,
        responses.region,
        responses.touchpoint,
        survey_responses.order_id,
        survey_responses.ticket_id,
        customers.store_id as home_store_id,
        customers.account_manager_id,
        tickets.agent_id,
        coalesce(orders.store_id, customers.store_id) as store_id,
        responses.likelihood_to_recommend,
        responses.nps_category,
        responses.nps_contribution,
        responses.csat_score,
        responses.is_csat_satisfied,
        responses.effort_score,
        responses.csi_score,
        coalesce(responses.nps_category = 'detractor', false) as is_detractor,
        coalesce(responses.csat_score <= parameters.low_csat_max_score, false) as is_low_csat,
        coalesce(responses.csi_score < parameters.low_csi_threshold, false) as is_low_csi
    from responses
    inner join survey_responses
        on responses.response_id = survey_responses.response_id
    cross join parameters
    left join customers
        on responses.customer_id = customers.customer_id
    left join orders
        on survey_responses.order_id = orders.order_id
    left join tickets
        on survey_responses.ticket_id = tickets.ticket_id

),

final as (

    select
        *,
        is_detractor or is_low_csi or is_low_csat as is_low_response
    from joined

)

select * from final
