{%- set slices = ['segment', 'region', 'channel', 'touchpoint'] -%}
{%- set dimensions = ['tangibles', 'reliability', 'responsiveness', 'assurance', 'empathy'] -%}
-- Survey KPIs (NPS, CSAT, CES, CSI, SERVQUAL gaps) per month and slice, on the full grid of
-- months x observed slice values, in the long shape of kpi_monthly (before rounding).
with

responses as (

    select * from {{ ref('int_survey_responses_scored') }}

),

item_gaps as (

    select * from {{ ref('int_servqual_item_gaps') }}

),

months as (

    select * from {{ ref('int_months') }}

),

servqual_weights as (

    select * from {{ ref('servqual_weights') }}

),

response_slices as (

    {{ unpivot_slices('responses', slices, [
        'month_start_date', 'response_id', 'likelihood_to_recommend', 'nps_contribution',
        'csat_score', 'is_csat_satisfied', 'effort_score', 'is_ces_easy', 'csi_score'
    ]) }}

),

gap_slices as (

    {{ unpivot_slices('item_gaps', slices, [
        'month_start_date', 'response_id', 'dimension', 'gap_score'
    ]) }}

),

slice_domain as (

    select distinct
        slice_column,
        slice_value
    from response_slices
    union
    select
        'all' as slice_column,
        'all' as slice_value

),

grid as (

    select
        months.month_start_date,
        slice_domain.slice_column,
        slice_domain.slice_value
    from months
    cross join slice_domain

),

response_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        count(likelihood_to_recommend) as nps_responses,
        sum(nps_contribution) as nps_net,
        count(csat_score) as csat_responses,
        sum(case when is_csat_satisfied then 1 else 0 end) as csat_satisfied,
        count(effort_score) as ces_responses,
        sum(effort_score) as effort_sum,
        sum(case when is_ces_easy then 1 else 0 end) as ces_easy,
        count(csi_score) as csi_responses,
        sum(csi_score) as csi_sum
    from response_slices
    group by month_start_date, slice_column, slice_value

),

dimension_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        {% for dimension in dimensions %}
            sum(case when dimension = '{{ dimension }}' then gap_score end)
                as {{ dimension }}_gap_sum,
            count(case when dimension = '{{ dimension }}' then gap_score end)
                as {{ dimension }}_gap_count,
            count(distinct case when dimension = '{{ dimension }}' then response_id end)
                as {{ dimension }}_responses,
        {% endfor %}
        count(distinct response_id) as servqual_responses
    from gap_slices
    where gap_score is not null and dimension is not null
    group by month_start_date, slice_column, slice_value

),

weights as (

    select
        {% for dimension in dimensions %}
            sum(case when dimension = '{{ dimension }}' then weight end) as {{ dimension }}_weight,
        {% endfor %}
        sum(weight) as total_weight
    from servqual_weights

),

joined as (

    select
        grid.month_start_date,
        grid.slice_column,
        grid.slice_value,
        coalesce(response_totals.nps_responses, 0) as nps_responses,
        coalesce(response_totals.nps_net, 0) as nps_net,
        coalesce(response_totals.csat_responses, 0) as csat_responses,
        coalesce(response_totals.csat_satisfied, 0) as csat_satisfied,
        coalesce(response_totals.ces_responses, 0) as ces_responses,
        coalesce(response_totals.effort_sum, 0) as effort_sum,
        coalesce(response_totals.ces_easy, 0) as ces_easy,
        coalesce(response_totals.csi_responses, 0) as csi_responses,
        coalesce(response_totals.csi_sum, 0) as csi_sum,
        {% for dimension in dimensions %}
            coalesce(dimension_totals.{{ dimension }}_gap_sum, 0) as {{ dimension }}_gap_sum,
            coalesce(dimension_totals.{{ dimension }}_gap_count, 0) as {{ dimension }}_gap_count,
            coalesce(dimension_totals.{{ dimension }}_responses, 0) as {{ dimension }}_responses,
            {{ safe_divide(
                'dimension_totals.' ~ dimension ~ '_gap_sum',
                'dimension_totals.' ~ dimension ~ '_gap_count'
            ) }} as {{ dimension }}_gap,
            weights.{{ dimension }}_weight,
        {% endfor %}
        weights.total_weight,
        coalesce(dimension_totals.servqual_responses, 0) as servqual_responses
    from grid
    left join response_totals
        on
            grid.month_start_date = response_totals.month_start_date
            and grid.slice_column = response_totals.slice_column
            and grid.slice_value = response_totals.slice_value
    left join dimension_totals
        on
            grid.month_start_date = dimension_totals.month_start_date
            and grid.slice_column = dimension_totals.slice_column
            and grid.slice_value = dimension_totals.slice_value
    cross join weights

),

servqual as (

    select
        *,
        {% for dimension in dimensions -%}
            {{ dimension }}_gap{{ " + " if not loop.last }}
        {%- endfor %} as gap_sum_of_dimensions,
        {% for dimension in dimensions -%}
            {{ dimension }}_gap * {{ dimension }}_weight{{ " + " if not loop.last }}
        {%- endfor %} as weighted_gap_sum
    from joined

),

kpis as (

    {{ kpi_rows(
        'nps', 'servqual',
        '100.0 * ' ~ safe_divide('nps_net', 'nps_responses'),
        'nps_net', 'nps_responses', 'nps_responses'
    ) }}
    union all
    {{ kpi_rows(
        'csat_pct', 'servqual',
        '100.0 * ' ~ safe_divide('csat_satisfied', 'csat_responses'),
        'csat_satisfied', 'csat_responses', 'csat_responses'
    ) }}
    union all
    {{ kpi_rows(
        'ces', 'servqual',
        safe_divide('effort_sum', 'ces_responses'),
        'effort_sum', 'ces_responses', 'ces_responses'
    ) }}
    union all
    {{ kpi_rows(
        'ces_easy_pct', 'servqual',
        '100.0 * ' ~ safe_divide('ces_easy', 'ces_responses'),
        'ces_easy', 'ces_responses', 'ces_responses'
    ) }}
    union all
    {{ kpi_rows(
        'csi', 'servqual',
        safe_divide('csi_sum', 'csi_responses'),
        'csi_sum', 'csi_responses', 'csi_responses'
    ) }}
    union all
    {{ kpi_rows(
        'servqual_gap', 'servqual',
        safe_divide('gap_sum_of_dimensions', dimensions | length),
        'gap_sum_of_dimensions',
        'case when gap_sum_of_dimensions is not null then ' ~ (dimensions | length) ~ ' end',
        'servqual_responses'
    ) }}
    union all
    {{ kpi_rows(
        'servqual_gap_weighted', 'servqual',
        safe_divide('weighted_gap_sum', 'total_weight'),
        'weighted_gap_sum',
        'case when weighted_gap_sum is not null then total_weight end',
        'servqual_responses'
    ) }}
    {% for dimension in dimensions %}
        union all
        {{ kpi_rows(
            'servqual_gap_' ~ dimension, 'servqual',
            dimension ~ '_gap',
            dimension ~ '_gap_sum', dimension ~ '_gap_count', dimension ~ '_responses'
        ) }}
    {% endfor %}

),

final as (

    select * from kpis

)

select * from final
