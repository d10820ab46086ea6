{{ config(
    materialized=incremental_materialization(),
    pre_hook="{{ delete_rebuild_scope(in_rebuild_scope('month_start_date', 'customer_id'), 'response_id', keys_loaded_since(ref('stg_survey__survey_responses'), 'response_id')) }}"
) }}
-- depends_on: {{ ref('stg_survey__survey_responses') }} (the pre-hook's changed keys)
-- Survey responses, one row per response, with the conformed dimension keys and the per-response
-- scores behind the survey KPIs (NPS category, CSAT top-2-box, CES easy, CSI).
with

responses as (

    select * from {{ ref('int_survey_responses_scored') }}
    where {{ in_rebuild_scope('month_start_date', 'customer_id') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

channels as (

    select * from {{ ref('dim_channel') }}

),

orders as (

    -- only the order ids: the key is computed below, so the join's hash table does not carry
    -- 15M 32-character keys at 10M responses (it spilled under a 2 GB memory limit)
    select order_id from {{ ref('fct_orders') }}

),

final as (

    select
        {{ surrogate_key(['responses.response_id']) }} as response_key,
        responses.response_id,
        responses.survey_id,
        customers.customer_key,
        channels.channel_key,
        {{ joined_order_key('orders.order_id') }} as order_key,
        responses.customer_id,
        responses.ticket_id,
        responses.submitted_at,
        {{ reporting_date('responses.submitted_at') }} as submitted_date,
        responses.month_start_date,
        responses.touchpoint,
        responses.language,
        responses.has_comment,
        responses.likelihood_to_recommend,
        responses.nps_category,
        responses.csat_score,
        responses.is_csat_satisfied,
        responses.effort_score,
        responses.is_ces_easy,
        responses.overall_satisfaction,
        responses.expectation_confirmation,
        responses.ideal_comparison,
        responses.csi_score
    from responses
    left join customers
        on
            responses.customer_id = customers.customer_id
            and responses.submitted_at >= customers.effective_from_at
            and responses.submitted_at < customers.effective_to_at
    left join channels
        on responses.channel = channels.channel
    left join orders
        on responses.order_id = orders.order_id

)

select * from final
