{#- A correlation clipped to [-1, 1]: floating-point rounding in corr() can step just past +-1
    (numpy's clip did the same in the old Python model). One home for the rule of the driver models. -#}
{% macro clip_correlation(correlation) -%}
    greatest(cast(-1 as {{ type_double() }}), least(cast(1 as {{ type_double() }}), {{ correlation }}))
{%- endmacro %}
