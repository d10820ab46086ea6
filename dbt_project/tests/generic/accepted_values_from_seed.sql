{#- Fails for every row whose column holds a value missing from a seed's column: the seed is the one
    home of an enumeration (ticket statuses, order statuses, ...), which a deployment may replace.
    `extra_values` are values the model adds itself (e.g. `unknown` for a missing value). -#}
{% test accepted_values_from_seed(model, column_name, seed, seed_column=none, extra_values=none) %}

select {{ column_name }} as unexpected_value
from {{ model }}
where
    {{ column_name }} is not null
    and {{ column_name }} not in (
        select seed_values.{{ seed_column or column_name }}
        from {{ ref(seed) }} as seed_values
        where seed_values.{{ seed_column or column_name }} is not null
    )
    {% if extra_values %}
        and {{ column_name }} not in ('{{ extra_values | join("', '") }}')
    {% endif %}

{% endtest %}
