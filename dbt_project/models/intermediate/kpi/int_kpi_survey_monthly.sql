{%- set slices = ['segment', 'region', 'channel', 'touchpoint'] -%}
{#- Each measure added up per cell, then per slice (slice_sums, slice_totals): the cells' partial
    sums add up exactly (counts, integer sums, decimal_sum), so a slice's total equals the sum over
    its responses. -#}
{%- set response_sums = {
    'nps_responses': 'count(likelihood_to_recommend)',
    'nps_net': 'sum(nps_contribution)',
    'csat_responses': 'count(csat_score)',
    'csat_satisfied': 'sum(case when is_csat_satisfied then 1 else 0 end)',
    'ces_responses': 'count(effort_score)',
    'effort_sum': 'sum(effort_score)',
    'ces_easy': 'sum(case when is_ces_easy then 1 else 0 end)',
    'csi_responses': 'count(csi_score)',
    'csi_sum': decimal_sum('csi_score'),
    'satisfied_flagged': 'count(is_satisfied)',
    'satisfied_responses': 'sum(case when is_satisfied then 1 else 0 end)',
} -%}
{%- set dimension_sums = {
    'gap_sum': 'sum(gap_sum)',
    'gap_count': 'sum(gap_count)',
    'gap_responses': 'count(case when gap_count > 0 then 1 end)',
    'perception_sum': decimal_sum('perception_sum'),
    'perception_count': 'sum(perception_count)',
    'perception_responses': 'count(case when perception_count > 0 then 1 end)',
} -%}
{%- set decimal_sums = ['csi_sum', 'perception_sum'] -%}
{%- set item_sums = {
    'servqual_responses': 'sum(has_gap)',
    'perception_responses': 'sum(has_perception)',
} -%}
-- Survey KPIs (NPS, CSAT, CES, CSI, satisfied share, SERVQUAL gaps, perception scores) per month
-- and slice, on the full grid of months x observed slice values, in the long shape of kpi_monthly
-- (slices: the fixed slicing columns and the attributes of the seed slice_attributes)
-- (before rounding). Dimensions come from the seed survey_items (any number, any names): one
-- servqual_gap_<dimension> and one perception_score_<dimension> per dimension. The overall gaps
-- average the dimensions of the seed servqual_weights and need every one of them; the overall
-- perception score averages every dimension of the catalogue and needs every one of them.
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

survey_items as (

    select * from {{ ref('survey_items') }}

),

response_attributes as (

    select * from {{ ref('int_survey_response_attributes') }}

),

response_cell_slices as (

    -- the responses added up per cell (a month and a value of every slicing column: about 12,000
    -- cells for 1M responses), then per slice: the fixed slicing columns, plus one slice per
    -- attribute of the seed slice_attributes (slice_column = the attribute's label; kpi_monthly
    -- puts it in attribute_name)
    {{ slice_sums('responses', slices, [], response_sums, 'response_attributes') }}

),

response_dimensions as (

    -- one row per response and dimension, before the slices multiply the rows: a response has one
    -- value per slicing column (and per attribute: int_survey_response_attributes is unique per
    -- response and attribute), so in every group below a response is one row, and responses are
    -- counted without count(distinct) over every item row of every slice
    select
        month_start_date,
        response_id,
        dimension,
        {{ slices | join(', ') }},
        sum(gap_score) as gap_sum,
        count(gap_score) as gap_count,
        {{ exact_sum('perception_index') }} as perception_sum,
        count(perception_index) as perception_count
    from item_gaps
    where dimension is not null
    group by month_start_date, response_id, dimension, {{ slices | join(', ') }}

),

dimension_cell_slices as (

    {{ slice_sums(
        'response_dimensions', slices, ['dimension'], dimension_sums, 'response_attributes'
    ) }}

),

response_items as (

    -- whether a response has a gap, and a perception score, in any dimension (counted once per
    -- slice)
    select
        month_start_date,
        response_id,
        {{ slices | join(', ') }},
        max(case when gap_count > 0 then 1 else 0 end) as has_gap,
        max(case when perception_count > 0 then 1 else 0 end) as has_perception
    from response_dimensions
    group by month_start_date, response_id, {{ slices | join(', ') }}

),

item_cell_slices as (

    {{ slice_sums('response_items', slices, [], item_sums, 'response_attributes') }}

),

slice_domain as (

    select distinct
        slice_column,
        slice_value
    from response_cell_slices
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
        {{ slice_totals(response_sums, decimal_sums) }}
    from response_cell_slices
    group by month_start_date, slice_column, slice_value

),

catalogue_dimensions as (

    select distinct dimension from survey_items

),

dimension_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        dimension,
        {{ slice_totals(dimension_sums, decimal_sums) }}
    from dimension_cell_slices
    group by month_start_date, slice_column, slice_value, dimension

),

item_totals as (

    select
        month_start_date,
        slice_column,
        slice_value,
        {{ slice_totals(item_sums) }}
    from item_cell_slices
    group by month_start_date, slice_column, slice_value

),

dimension_grid as (

    select
        grid.month_start_date,
        grid.slice_column,
        grid.slice_value,
        catalogue_dimensions.dimension,
        coalesce(dimension_totals.gap_sum, 0) as gap_sum,
        coalesce(dimension_totals.gap_count, 0) as gap_count,
        coalesce(dimension_totals.gap_responses, 0) as gap_responses,
        {{ safe_divide('dimension_totals.gap_sum', 'dimension_totals.gap_count') }} as gap,
        coalesce(dimension_totals.perception_sum, 0) as perception_sum,
        coalesce(dimension_totals.perception_count, 0) as perception_count,
        coalesce(dimension_totals.perception_responses, 0) as perception_responses,
        {{ safe_divide('dimension_totals.perception_sum', 'dimension_totals.perception_count') }}
            as perception
    from grid
    cross join catalogue_dimensions
    left join dimension_totals
        on
            grid.month_start_date = dimension_totals.month_start_date
            and grid.slice_column = dimension_totals.slice_column
            and grid.slice_value = dimension_totals.slice_value
            and catalogue_dimensions.dimension = dimension_totals.dimension

),

weights as (

    select
        count(*) as gap_dimensions,
        sum(weight) as total_weight
    from servqual_weights

),

gap_overall as (

    -- the dimensions of servqual_weights; NULL unless every one of them has a gap in the group
    select
        dimension_grid.month_start_date,
        dimension_grid.slice_column,
        dimension_grid.slice_value,
        count(dimension_grid.gap) as gap_dimensions_present,
        {{ exact_sum('dimension_grid.gap') }} as gap_sum_present,
        {{ exact_sum('dimension_grid.gap * servqual_weights.weight') }}
            as weighted_gap_sum_present
    from dimension_grid
    inner join servqual_weights
        on dimension_grid.dimension = servqual_weights.dimension
    group by
        dimension_grid.month_start_date, dimension_grid.slice_column, dimension_grid.slice_value

),

perception_overall as (

    -- every dimension of the catalogue; NULL unless every one of them has a score in the group
    select
        month_start_date,
        slice_column,
        slice_value,
        count(*) as catalogue_dimensions,
        count(perception) as perception_dimensions_present,
        {{ exact_sum('perception') }} as perception_sum_present
    from dimension_grid
    group by month_start_date, slice_column, slice_value

),

servqual as (

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
        coalesce(response_totals.satisfied_flagged, 0) as satisfied_flagged,
        coalesce(response_totals.satisfied_responses, 0) as satisfied_responses,
        coalesce(item_totals.servqual_responses, 0) as servqual_responses,
        coalesce(item_totals.perception_responses, 0) as perception_responses,
        weights.gap_dimensions,
        weights.total_weight,
        case
            when gap_overall.gap_dimensions_present = weights.gap_dimensions
                then gap_overall.gap_sum_present
        end as gap_sum_of_dimensions,
        case
            when gap_overall.gap_dimensions_present = weights.gap_dimensions
                then gap_overall.weighted_gap_sum_present
        end as weighted_gap_sum,
        case
            when
                perception_overall.perception_dimensions_present
                = perception_overall.catalogue_dimensions
                then perception_overall.perception_sum_present
        end as perception_sum_of_dimensions,
        perception_overall.catalogue_dimensions
    from grid
    cross join weights
    left join response_totals
        on
            grid.month_start_date = response_totals.month_start_date
            and grid.slice_column = response_totals.slice_column
            and grid.slice_value = response_totals.slice_value
    left join item_totals
        on
            grid.month_start_date = item_totals.month_start_date
            and grid.slice_column = item_totals.slice_column
            and grid.slice_value = item_totals.slice_value
    left join gap_overall
        on
            grid.month_start_date = gap_overall.month_start_date
            and grid.slice_column = gap_overall.slice_column
            and grid.slice_value = gap_overall.slice_value
    left join perception_overall
        on
            grid.month_start_date = perception_overall.month_start_date
            and grid.slice_column = perception_overall.slice_column
            and grid.slice_value = perception_overall.slice_value

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
        'satisfied_pct', 'servqual',
        '100.0 * ' ~ safe_divide('satisfied_responses', 'satisfied_flagged'),
        'satisfied_responses', 'satisfied_flagged', 'satisfied_flagged'
    ) }}
    union all
    {{ kpi_rows(
        'servqual_gap', 'servqual',
        safe_divide('gap_sum_of_dimensions', 'gap_dimensions'),
        'gap_sum_of_dimensions',
        'case when gap_sum_of_dimensions is not null then gap_dimensions end',
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
    union all
    {{ kpi_rows(
        'perception_score', 'servqual',
        safe_divide('perception_sum_of_dimensions', 'catalogue_dimensions'),
        'perception_sum_of_dimensions',
        'case when perception_sum_of_dimensions is not null then catalogue_dimensions end',
        'perception_responses'
    ) }}
    union all
    {{ kpi_rows(
        "'servqual_gap_' || dimension", 'dimension_grid',
        'gap', 'gap_sum', 'gap_count', 'gap_responses', kpi_is_expression=true
    ) }}
    union all
    {{ kpi_rows(
        "'perception_score_' || dimension", 'dimension_grid',
        'perception', 'perception_sum', 'perception_count', 'perception_responses',
        kpi_is_expression=true
    ) }}

),

final as (

    select * from kpis

)

select * from final
