{#- One row per input row and KPI slice: the all-up total (`all`, `all`) plus one row per slicing
    column in `slice_columns`, with `slice_column` naming it and `slice_value` holding its value.
    `carry_columns` are copied through unchanged. -#}
{% macro unpivot_slices(from_relation, slice_columns, carry_columns) -%}
    select
        'all' as slice_column,
        'all' as slice_value,
        {{ carry_columns | join(', ') }}
    from {{ from_relation }}
    {%- for slice_column in slice_columns %}
    union all
    select
        '{{ slice_column }}' as slice_column,
        {{ slice_column }} as slice_value,
        {{ carry_columns | join(', ') }}
    from {{ from_relation }}
    {%- endfor %}
{%- endmacro %}

{#- The partial sums of `sums` (name: aggregate expression over the rows of `from_relation`) per
    month (`month_start_date`), `keys` and slice, by way of cells: the rows are added up per cell
    (a month, the keys and a value of every slicing column; each row counted once), and the cells
    unpivoted by slice (unpivot_slices). When `attributes_relation` is given (`response_id`,
    `attribute_name`, `attribute_value`, unique per response and attribute), the rows are also
    added up per month, keys and attribute value, with the attribute as the slice column. A slice's
    total is then the sum of its partial sums: exact for counts, integer and decimal sums
    (decimal_sum), whatever the grouping, and the slices multiply cells, not rows. -#}
{% macro slice_sums(from_relation, slice_columns, keys, sums, attributes_relation=none) -%}
    {%- set groups = ['month_start_date'] + keys -%}
    {%- set aggregates = [] -%}
    {%- for column, expression in sums.items() -%}
        {%- do aggregates.append(expression ~ ' as ' ~ column) -%}
    {%- endfor -%}
    {%- set grouped = [] -%}
    {%- for column in groups -%}
        {%- do grouped.append(from_relation ~ '.' ~ column) -%}
    {%- endfor -%}
    with

    cells as (

        select
            {{ (groups + slice_columns + aggregates) | join(', ') }}
        from {{ from_relation }}
        group by {{ (groups + slice_columns) | join(', ') }}

    )

    {{ unpivot_slices('cells', slice_columns, groups + sums.keys() | list) }}
    {%- if attributes_relation is not none %}
        union all
        select
            {{ attributes_relation }}.attribute_name as slice_column,
            {{ attributes_relation }}.attribute_value as slice_value,
            {{ (grouped + aggregates) | join(', ') }}
        from {{ from_relation }}
        inner join {{ attributes_relation }}
            on {{ from_relation }}.response_id = {{ attributes_relation }}.response_id
        group by
            {{ attributes_relation }}.attribute_name,
            {{ attributes_relation }}.attribute_value,
            {{ grouped | join(', ') }}
    {%- endif %}
{%- endmacro %}

{#- The totals of slice_sums' partial sums (a select list, one column per name of `sums`): the
    names in `decimal_sums` (partial decimal_sums) as doubles, the others as bigints. -#}
{% macro slice_totals(sums, decimal_sums=[]) -%}
    {%- set totals = [] -%}
    {%- for column in sums -%}
        {%- set total_type = type_double() if column in decimal_sums else dbt.type_bigint() -%}
        {%- do totals.append('cast(sum(' ~ column ~ ') as ' ~ total_type ~ ') as ' ~ column) -%}
    {%- endfor -%}
    {{ totals | join(', ') }}
{%- endmacro %}
