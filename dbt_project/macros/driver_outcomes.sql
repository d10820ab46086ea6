{#- The outcome values of `relation` (int_driver_observations, or a CTE of it) in long form: one row
    per response and outcome measure with a value (response_id, the `carried` columns of the
    response, outcome_measure, outcome_value). The measures are the columns the seed driver_outcomes
    may name (its accepted values, seeds/_analytics_seeds.yml). -#}
{% macro driver_outcome_rows(relation, carried=[]) -%}
    {%- set measures = [
        'csi_score', 'likelihood_to_recommend', 'overall_satisfaction', 'csat_score', 'is_satisfied'
    ] %}
    {%- for measure in measures %}
        {{ 'union all' if not loop.first }}
        select
            {{ (['response_id'] + carried) | join(', ') }},
            '{{ measure }}' as outcome_measure,
            {{ measure }} as outcome_value
        from {{ relation }}
        where {{ measure }} is not null
    {%- endfor %}
{%- endmacro %}

{#- The columns that define a pair of outcome and driver (int_driver_pairs), which
    int_driver_correlations repeats on every row and int_rebuild_quarters compares. -#}
{% macro driver_pair_columns() -%}
    outcome, outcome_measure, is_outcome_delivered, driver, driver_group, driver_measure,
    is_lower_better, scale_min, scale_max, performance_basis
{%- endmacro %}

{#- The analysis groups of the key-driver statistics, in one aggregate: one per quarter and segment
    and one per quarter (`all`: every response of the quarter), the rollup of the segment, instead
    of every row stored twice, once per group (DECISIONLOG.md, "The key-driver groups as a rollup").
    `keys`: the statistic's other grouping columns. The rows of a response without a segment are in
    `all` only: analysis_segment() gives their per-segment group a NULL segment, which the caller
    leaves out. -#}
{% macro group_by_analysis_groups(keys) -%}
    group by quarter_start_date, {{ keys | join(', ') }}, rollup(segment)
{%- endmacro %}

{#- The segment of a row of group_by_analysis_groups: `all` in the rollup's total. -#}
{% macro analysis_segment() -%}
    case when grouping(segment) = 1 then 'all' else segment end
{%- endmacro %}
