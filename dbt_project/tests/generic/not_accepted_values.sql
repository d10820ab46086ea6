{#- Fails for every row whose column holds one of `values` (reserved words, e.g. a slice label
    that would collide with a fixed slicing column of kpi_monthly). -#}
{% test not_accepted_values(model, column_name, values) %}

select {{ column_name }} as reserved_value
from {{ model }}
where {{ column_name }} in ('{{ values | join("', '") }}')

{% endtest %}
