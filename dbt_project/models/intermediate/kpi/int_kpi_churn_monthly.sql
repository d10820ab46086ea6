{%- set slices = ['segment', 'region'] -%}
{#- Customer months added up per cell (a month and a value of every slicing column), then per
    slice (slice_sums). -#}
{%- set churn_sums = {
    'active_customers': 'sum(case when is_active_at_start then 1 else 0 end)',
    'churned_customers': 'sum(case when is_churned then 1 else 0 end)',
    'mrr_at_start': 'sum(mrr_at_start)',
    'churned_mrr': 'sum(churned_mrr)',
} -%}
-- Churn KPIs per month and slice on the full grid: logo churn rate, gross revenue churn rate and
-- retention rate (KPIS.md), from customer-month activity of subscriptions. Customers who joined
-- during the month are in neither the numerator nor the denominator. The customer x month rows are
-- the published fact's: the grid is built once (DECISIONLOG.md, "The customer x month grid,
-- written once"), and sliced here by the customers' current segment and region.
with

fct_customer_months as (

    select * from {{ ref('fct_customer_months') }}

),

customers_current as (

    select * from {{ ref('int_customers_current') }}

),

customer_months as (

    -- the churn KPIs slice by the customer's current segment and region
    select
        fct_customer_months.month_start_date,
        coalesce(customers_current.segment, 'unknown') as segment,
        coalesce(customers_current.region, 'unknown') as region,
        fct_customer_months.is_active_at_start,
        fct_customer_months.is_churned,
        fct_customer_months.mrr_at_start,
        fct_customer_months.churned_mrr
    from fct_customer_months
    left join customers_current
        on fct_customer_months.customer_id = customers_current.customer_id

),

months as (

    select * from {{ ref('int_months') }}

),

customer_month_cell_slices as (

    {{ slice_sums('customer_months', slices, [], churn_sums) }}

),

churn_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        sum(active_customers) as active_customers,
        sum(churned_customers) as churned_customers,
        sum(mrr_at_start) as mrr_at_start,
        sum(churned_mrr) as churned_mrr
    from customer_month_cell_slices
    group by month_start_date, slice_column, slice_value

),

slice_domain as (

    select distinct
        slice_column,
        slice_value
    from customer_month_cell_slices
    union
    select
        'all' as slice_column,
        'all' as slice_value

),

churn_grid as (

    select
        months.month_start_date,
        slice_domain.slice_column,
        slice_domain.slice_value,
        coalesce(churn_totals.active_customers, 0) as active_customers,
        coalesce(churn_totals.churned_customers, 0) as churned_customers,
        coalesce(churn_totals.active_customers, 0)
        - coalesce(churn_totals.churned_customers, 0) as retained_customers,
        coalesce(churn_totals.mrr_at_start, 0) as mrr_at_start,
        coalesce(churn_totals.churned_mrr, 0) as churned_mrr
    from months
    cross join slice_domain
    left join churn_totals
        on
            months.month_start_date = churn_totals.month_start_date
            and slice_domain.slice_column = churn_totals.slice_column
            and slice_domain.slice_value = churn_totals.slice_value

),

kpis as (

    {{ kpi_rows(
        'logo_churn_rate', 'churn_grid',
        '100.0 * ' ~ safe_divide('churned_customers', 'active_customers'),
        'churned_customers', 'active_customers', 'active_customers'
    ) }}
    union all
    {{ kpi_rows(
        'gross_revenue_churn_rate', 'churn_grid',
        '100.0 * ' ~ safe_divide('churned_mrr', 'mrr_at_start'),
        'churned_mrr', 'mrr_at_start', 'active_customers'
    ) }}
    union all
    {{ kpi_rows(
        'retention_rate', 'churn_grid',
        '100.0 * ' ~ safe_divide('retained_customers', 'active_customers'),
        'retained_customers', 'active_customers', 'active_customers'
    ) }}

),

final as (

    select * from kpis

)

select * from final
