{#- Fails when the weights in the column do not sum to 1 (within 1e-9) or when the model does not
    hold exactly `row_count` weights (one per item the formula weighs, KPIS.md). -#}
{% test weights_sum_to_one(model, column_name, row_count) %}

with

totals as (

    select
        sum({{ column_name }}) as total_weight,
        count(*) as weight_count
    from {{ model }}

)

select * from totals
where
    weight_count <> {{ row_count }}
    or abs(total_weight - 1) > 1e-9

{% endtest %}
