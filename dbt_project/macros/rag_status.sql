{#- The RAG status of a KPI value against its target (KPIS.md, one home for the rule): no_data
    without an actual; insufficient_sample when `sample_size` is below `min_sample_size` (left
    out, they are NULL and the check never applies: the breakdown slices are not sample-checked);
    no_data without a target; green when the target is met; amber when missed by no more than
    `amber_tolerance` (in the KPI's unit); red beyond. `direction` is higher_is_better or
    lower_is_better. -#}
{% macro rag_status(
    actual, target, direction, amber_tolerance, sample_size='null', min_sample_size='null'
) -%}
    case
        when {{ actual }} is null then 'no_data'
        when {{ sample_size }} < {{ min_sample_size }} then 'insufficient_sample'
        when {{ target }} is null then 'no_data'
        when {{ direction }} = 'higher_is_better' and {{ actual }} >= {{ target }} then 'green'
        when {{ direction }} = 'lower_is_better' and {{ actual }} <= {{ target }} then 'green'
        when
            {{ direction }} = 'higher_is_better'
            and {{ actual }} >= {{ target }} - {{ amber_tolerance }}
            then 'amber'
        when
            {{ direction }} = 'lower_is_better'
            and {{ actual }} <= {{ target }} + {{ amber_tolerance }}
            then 'amber'
        else 'red'
    end
{%- endmacro %}
