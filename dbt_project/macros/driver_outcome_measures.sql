{#- The columns of int_driver_observations that can be an outcome of the key-driver analysis: the
    measures the seed driver_outcomes may name (its accepted values, seeds/_analytics_seeds.yml). -#}
{% macro driver_outcome_measures() -%}
    {{- return([
        'csi_score', 'likelihood_to_recommend', 'overall_satisfaction', 'csat_score', 'is_satisfied'
    ]) -}}
{%- endmacro %}
