-- Channels of surveys, orders and tickets in one conformed dimension: the seed `channels` plus any
-- value the sources deliver (trimmed, lower-cased; missing -> unknown), with where each is used.
with

channels as (

    select * from {{ ref('channels') }}

),

survey_responses as (

    select * from {{ ref('int_survey_responses_scored') }}

),

orders as (

    select * from {{ ref('int_orders_classified') }}

),

tickets as (

    select * from {{ ref('stg_complaints__tickets') }}

),

observed as (

    select distinct
        channel,
        'survey' as used_by
    from survey_responses
    union
    select distinct
        channel,
        'order' as used_by
    from orders
    union
    select distinct
        {{ slice_value('channel') }} as channel,
        'ticket' as used_by
    from tickets

),

all_channels as (

    select channel from channels
    union
    select channel from observed

),

usage as (

    select
        channel,
        max(case when used_by = 'survey' then 1 else 0 end) = 1 as is_survey_channel,
        max(case when used_by = 'order' then 1 else 0 end) = 1 as is_order_channel,
        max(case when used_by = 'ticket' then 1 else 0 end) = 1 as is_ticket_channel
    from observed
    group by channel

),

final as (

    select
        {{ surrogate_key(['all_channels.channel']) }} as channel_key,
        all_channels.channel,
        coalesce(channels.channel_group, 'unknown') as channel_group,
        coalesce(channels.is_digital, false) as is_digital,
        coalesce(channels.description, all_channels.channel) as channel_description,
        coalesce(usage.is_survey_channel, false) as is_survey_channel,
        coalesce(usage.is_order_channel, false) as is_order_channel,
        coalesce(usage.is_ticket_channel, false) as is_ticket_channel
    from all_channels
    left join channels
        on all_channels.channel = channels.channel
    left join usage
        on all_channels.channel = usage.channel

)

select * from final
