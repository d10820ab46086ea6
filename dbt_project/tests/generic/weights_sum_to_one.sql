{#- Fails when the weights in the column do not sum to 1 (within 1e-9) or, when `row_count` is
    given, when the model does not hold exactly that many weights (one per item the formula weighs,
    KPIS.md; SERVQUAL weights have one per questionnaire dimension, any number). -#}
{% test weights_sum_to_one(model, column_name, row_count=none) %}

with

totals as (

    select
        sum({{ column_name }}) as total_weight,
        count(*) as weight_count
    from {{ model }}

)

select * from totals
where
    {% if row_count is not none %}
        weight_count <> {{ row_count }} or
    {% endif %}
    abs(total_weight - 1) > 1e-9

{% endtest %}
