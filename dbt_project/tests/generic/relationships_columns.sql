{#- Fails for every listed column that holds values missing from its parent, with the number of
    orphan rows: dbt's `relationships` for all of a model's foreign keys in one test node (a test per
    column cost a node's fixed overhead each: 72 of them). Declared once per model and severity,
    under the model's data_tests; `columns` maps each column to its parent (`to`, `field`) and, where
    some values are allowed without a parent, a `where` on the model's rows (e.g. the `unknown`
    placeholder). -#}
{% test relationships_columns(model, columns) %}

with

{% for column, parent in columns.items() %}
    orphans_{{ loop.index }} as (

        select count(*) as orphan_rows
        from (
            select {{ column }} as child_value
            from {{ model }}
            where
                {{ column }} is not null
                {% if parent.where %}and ({{ parent.where }}){% endif %}
        ) as child
        left join {{ parent.to }} as parent_rows
            on child.child_value = parent_rows.{{ parent.field }}
        where parent_rows.{{ parent.field }} is null

    ),
{% endfor %}

per_column as (

    {% for column, parent in columns.items() %}
        select
            '{{ column }}' as column_name,
            '{{ parent.to.identifier }}' as parent,
            orphan_rows
        from orphans_{{ loop.index }}
        {{ "union all" if not loop.last }}
    {% endfor %}

)

select * from per_column
where orphan_rows > 0

{% endtest %}
