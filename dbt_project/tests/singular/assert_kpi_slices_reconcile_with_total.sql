-- Additive KPI parts reconcile: for every month, KPI and slicing column, the sum over the slice
-- values of the numerator (and denominator) equals the all-up total's. This holds for KPIs whose
-- every unit (response, complaint, customer, ...) falls in exactly one value of each slicing
-- column: complaint_volume and backlog counts, nps / csat / ces / csi numerators and denominators,
-- churn numerators and denominators, complaint rate. (repeat_purchase_rate by channel does not
-- add up: a buyer may buy in several channels.)
with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

additive as (

    select * from kpi_monthly
    where
        kpi in (
            'nps', 'csat_pct', 'ces', 'ces_easy_pct', 'csi',
            'complaint_volume', 'backlog', 'complaint_rate', 'escalation_rate',
            'sla_attainment_rate', 'first_contact_resolution_rate', 'reopen_rate',
            'logo_churn_rate', 'gross_revenue_churn_rate', 'retention_rate',
            'repurchase_90d_rate'
        )

),

sliced as (

    select
        month_start_date,
        kpi,
        case
            when segment <> 'all' then 'segment'
            when region <> 'all' then 'region'
            when channel <> 'all' then 'channel'
            when touchpoint <> 'all' then 'touchpoint'
            when category <> 'all' then 'category'
            when attribute_name <> 'all' then attribute_name
            else 'all'
        end as slice_column,
        coalesce(numerator, 0) as numerator,
        coalesce(denominator, 0) as denominator,
        coalesce(sample_size, 0) as sample_size
    from additive

),

per_slice_column as (

    select
        month_start_date,
        kpi,
        slice_column,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(sample_size) as sample_size
    from sliced
    group by month_start_date, kpi, slice_column

),

totals as (

    select * from per_slice_column
    where slice_column = 'all'

),

final as (

    select
        per_slice_column.month_start_date,
        per_slice_column.kpi,
        per_slice_column.slice_column,
        per_slice_column.numerator,
        totals.numerator as total_numerator,
        per_slice_column.denominator,
        totals.denominator as total_denominator
    from per_slice_column
    inner join totals
        on
            per_slice_column.month_start_date = totals.month_start_date
            and per_slice_column.kpi = totals.kpi
    where
        per_slice_column.slice_column <> 'all'
        and (
            -- relative: double sums of millions of scores differ in their last bits by summation
            -- order (at 10M responses a CSI numerator of 2e7 differed by 1e-5, 4e-13 relative)
            abs(per_slice_column.numerator - totals.numerator)
            > 1e-9 * greatest(1, abs(totals.numerator))
            or abs(per_slice_column.denominator - totals.denominator)
            > 1e-9 * greatest(1, abs(totals.denominator))
            or per_slice_column.sample_size <> totals.sample_size
        )

)

select * from final
