{#- Incremental like fct_survey_responses (macros/incremental_scope.sql): a response is recomputed
    in a month or of a customer to rebuild (the customer's current home store and account manager),
    and when the order or the ticket it is about was delivered again (the order's store, the
    ticket's agent). Its own month, customer, order and ticket never change without the response
    being delivered again (deleted by key), so the rows deleted and those inserted are the same
    responses. The low-response rules follow the columns delivered: a first delivery of a column
    makes the build a full refresh (dagster_project/build_state.py). -#}
{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_rebuild_scope(in_analytics_response_scope(), 'response_id', keys_loaded_since(ref('stg_survey__survey_responses'), 'response_id')) }}"
) }}
-- depends_on: {{ ref('stg_survey__survey_responses') }} (the pre-hook's changed keys)
-- Survey responses with what the analytics marts attribute them to: the customer's current home
-- store and account manager (CRM), the agent of the ticket the response is about, and the store
-- they count for (the store of the surveyed order when it has one, else the customer's home
-- store); plus the low-response flags (detractor, CSI below the threshold, CSAT at or below the
-- threshold, labelled not satisfied) and the quarter of the response. Which flags make a response
-- low for the at-risk reasons is the seed low_response_measures (a CSAT-only or NPS-only programme
-- uses the measures it has), adapted to the columns delivered (int_low_response_rules).
with

responses as (

    select * from {{ ref('int_survey_responses_scored') }}
    where {{ in_analytics_response_scope() }}

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

low_rules as (

    select * from {{ ref('int_low_response_rules') }}

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
        responses.order_id,
        responses.ticket_id,
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
        coalesce(responses.csi_score < parameters.low_csi_threshold, false) as is_low_csi,
        coalesce(not responses.is_satisfied, false) as is_not_satisfied,
        low_rules.*
    from responses
    cross join parameters
    cross join low_rules
    left join customers
        on responses.customer_id = customers.customer_id
    left join orders
        on responses.order_id = orders.order_id
    left join tickets
        on responses.ticket_id = tickets.ticket_id

),

final as (

    select
        response_id,
        customer_id,
        submitted_at,
        month_start_date,
        quarter_start_date,
        segment,
        region,
        touchpoint,
        order_id,
        ticket_id,
        home_store_id,
        account_manager_id,
        agent_id,
        store_id,
        likelihood_to_recommend,
        nps_category,
        nps_contribution,
        csat_score,
        is_csat_satisfied,
        effort_score,
        csi_score,
        is_detractor,
        is_low_csat,
        is_low_csi,
        is_not_satisfied,
        (is_detractor and consecutive_uses_detractor)
        or (is_low_csi and consecutive_uses_low_csi)
        or (is_low_csat and consecutive_uses_low_csat)
        or (is_not_satisfied and consecutive_uses_not_satisfied) as is_low_response,
        (is_detractor and latest_uses_detractor)
        or (is_low_csi and latest_uses_low_csi)
        or (is_low_csat and latest_uses_low_csat)
        or (is_not_satisfied and latest_uses_not_satisfied) as is_latest_low_response,
        low_measures_null_reason
    from joined

)

select * from final
