{#- The outcome values of `relation` (int_driver_observations, or a CTE of it) in long form: one row
    per response and outcome measure with a value (response_id, outcome_measure, outcome_value). The
    measures are the columns the seed driver_outcomes may name (its accepted values,
    seeds/_analytics_seeds.yml). -#}
{% macro driver_outcome_rows(relation) -%}
    {%- set measures = [
        'csi_score', 'likelihood_to_recommend', 'overall_satisfaction', 'csat_score', 'is_satisfied'
    ] %}
    {%- for measure in measures %}
        {{ 'union all' if not loop.first }}
        select
            response_id,
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
