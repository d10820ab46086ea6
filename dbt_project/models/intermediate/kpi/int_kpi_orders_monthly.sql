{#- The buyer's current segment and region: one value per customer. The channel is the order's. -#}
{%- set customer_slices = ['segment', 'region'] -%}
-- Commercial order KPIs per month and slice on the full grid: repeat-purchase rate (buyers of the
-- month with two or more valid orders in the month, within the slice) and 90-day repurchase rate
-- (month = cohort month of the first valid order; is_mature once 90 days have passed since the
-- end of the cohort month at the date of the last event in the warehouse).
with

orders as (

    select * from {{ ref('int_orders_classified') }}

),

first_orders as (

    select * from {{ ref('int_customers_first_orders') }}

),

months as (

    select * from {{ ref('int_months') }}

),

bounds as (

    select * from {{ ref('int_calendar_bounds') }}

),

valid_orders as (

    select * from orders
    where is_valid

),

-- Buyers are counted from one row per buyer and month (with the buyer's segment and region, the
-- same on each of the buyer's orders) and one per buyer, month and channel, not from every order
-- repeated once per slice: at 10M responses that aggregate (63M rows) exhausted a 2 GB memory
-- limit.
buyer_months as (

    select
        month_start_date,
        customer_id,
        segment,
        region,
        count(*) as valid_order_count
    from valid_orders
    group by month_start_date, customer_id, segment, region

),

buyer_channel_months as (

    select
        month_start_date,
        customer_id,
        channel,
        count(*) as valid_order_count
    from valid_orders
    group by month_start_date, customer_id, channel

),

buyer_slices as (

    {{ unpivot_slices('buyer_months', customer_slices, ['month_start_date', 'valid_order_count']) }}
    union all
    select
        'channel' as slice_column,
        channel as slice_value,
        month_start_date,
        valid_order_count
    from buyer_channel_months

),

repeat_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        count(*) as buyers,
        sum(case when valid_order_count >= 2 then 1 else 0 end) as repeat_buyers
    from buyer_slices
    group by month_start_date, slice_column, slice_value

),

cohort_slices as (

    {{ unpivot_slices('first_orders', customer_slices, [
        'cohort_month_start_date as month_start_date', 'customer_id', 'has_repurchase_90d'
    ]) }}

),

cohort_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        count(*) as cohort_customers,
        sum(case when has_repurchase_90d then 1 else 0 end) as repurchasers
    from cohort_slices
    group by month_start_date, slice_column, slice_value

),

repeat_domain as (

    select distinct
        slice_column,
        slice_value
    from buyer_slices
    union
    select
        'all' as slice_column,
        'all' as slice_value

),

cohort_domain as (

    select * from repeat_domain
    where slice_column in ('all', {{ "'" ~ customer_slices | join("', '") ~ "'" }})

),

repeat_grid as (

    select
        months.month_start_date,
        repeat_domain.slice_column,
        repeat_domain.slice_value,
        coalesce(repeat_totals.buyers, 0) as buyers,
        coalesce(repeat_totals.repeat_buyers, 0) as repeat_buyers
    from months
    cross join repeat_domain
    left join repeat_totals
        on
            months.month_start_date = repeat_totals.month_start_date
            and repeat_domain.slice_column = repeat_totals.slice_column
            and repeat_domain.slice_value = repeat_totals.slice_value

),

cohort_grid as (

    select
        months.month_start_date,
        cohort_domain.slice_column,
        cohort_domain.slice_value,
        coalesce(cohort_totals.cohort_customers, 0) as cohort_customers,
        coalesce(cohort_totals.repurchasers, 0) as repurchasers,
        bounds.as_of_at
        >= {{ dbt.dateadd('day', 90, 'months.next_month_start_at') }} as is_mature
    from months
    cross join cohort_domain
    cross join bounds
    left join cohort_totals
        on
            months.month_start_date = cohort_totals.month_start_date
            and cohort_domain.slice_column = cohort_totals.slice_column
            and cohort_domain.slice_value = cohort_totals.slice_value

),

kpis as (

    {{ kpi_rows(
        'repeat_purchase_rate', 'repeat_grid',
        '100.0 * ' ~ safe_divide('repeat_buyers', 'buyers'),
        'repeat_buyers', 'buyers', 'buyers'
    ) }}
    union all
    {{ kpi_rows(
        'repurchase_90d_rate', 'cohort_grid',
        '100.0 * ' ~ safe_divide('repurchasers', 'cohort_customers'),
        'repurchasers', 'cohort_customers', 'cohort_customers', 'is_mature'
    ) }}

),

final as (

    select * from kpis

)

select * from final
