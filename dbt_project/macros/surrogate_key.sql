{#- Surrogate key: md5 (dbt.hash) over the columns cast to strings, NULL-safe, joined with '|'.
    A NULL and an empty string give different keys. -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(
            "coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')"
        ) -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}


{#- An order's key (fct_orders.order_key), for a fact that computes it from the order id rather
    than reading it from fct_orders (fct_survey_responses: why, in its `orders` CTE). -#}
{% macro order_key(order_id) -%}
    {{ surrogate_key([order_id]) }}
{%- endmacro %}

{#- The key of the order a fact's left join to fct_orders' ids found (`joined_order_id`: NULL when
    fct_orders holds no such order), else NULL, never the key of '<null>' (fct_survey_responses,
    fct_complaints; their relationships tests to fct_orders fail if the two keys ever part). -#}
{% macro joined_order_key(joined_order_id) -%}
    case when {{ joined_order_id }} is not null then {{ order_key(joined_order_id) }} end
{%- endmacro %}
