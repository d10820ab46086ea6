{#- The integers 0 .. upper_bound - 1 as column `n`, in portable SQL (cross joins of digits). -#}
{% macro generate_numbers(upper_bound) -%}
    {%- set upper_bound = upper_bound | int -%}
    {%- set ns = namespace(digits=1) -%}
    {%- for _ in range(12) -%}
        {%- if 10 ** ns.digits < upper_bound -%}{%- set ns.digits = ns.digits + 1 -%}{%- endif -%}
    {%- endfor -%}
    {%- set terms = [] -%}
    {%- set tables = [] -%}
    {%- for i in range(ns.digits) -%}
        {%- do terms.append('d' ~ i ~ '.digit * ' ~ (10 ** i)) -%}
        {%- do tables.append(
            '(select 0 as digit union all select 1 union all select 2 union all select 3'
            ~ ' union all select 4 union all select 5 union all select 6 union all select 7'
            ~ ' union all select 8 union all select 9) as d' ~ i
        ) -%}
    {%- endfor -%}
    select numbers.n
    from (
        select {{ terms | join(' + ') }} as n
        from {{ tables | join(' cross join ') }}
    ) as numbers
    where numbers.n < {{ upper_bound }}
{%- endmacro %}
