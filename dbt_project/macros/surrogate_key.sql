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


{#- An order's key (fct_orders.order_key). A fact about an order computes it from the order id
    rather than joining fct_orders for it: at 10M responses that join carried 15M keys and spilled
    (DECISIONLOG.md, "The key-driver working set, stored once per build; the order key without its
    join"). -#}
{% macro order_key(order_id) -%}
    {{ surrogate_key([order_id]) }}
{%- endmacro %}
