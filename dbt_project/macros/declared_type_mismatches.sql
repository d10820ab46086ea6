{#- The columns of `model` (a built relation) whose name, position or type differ from its YAML
    `data_type`s, as (position, declared, actual) tuples. Both sides are typed by the engine itself
    (the declared side as `cast(null as <data_type>)`, as dbt's contracts do), so `string` and
    `varchar` compare equal on DuckDB. Used by the test columns_match_data_types. -#}
{% macro declared_type_mismatches(model) %}
    {%- set mismatches = [] -%}
    {%- if execute -%}
        {%- set node = graph.nodes.values()
            | selectattr('resource_type', 'equalto', 'model')
            | selectattr('name', 'equalto', model.identifier)
            | first -%}
        {%- set casts = [] -%}
        {%- for column in node.columns.values() -%}
            {%- set cast = 'cast(null as ' ~ column.data_type ~ ')' -%}
            {%- do casts.append(cast ~ ' as ' ~ adapter.quote(column.name)) -%}
        {%- endfor -%}
        {%- set declared = adapter.get_column_schema_from_query('select ' ~ casts | join(', ')) -%}
        {%- set actual = adapter.get_column_schema_from_query('select * from ' ~ model) -%}
        {%- for position in range([declared | length, actual | length] | max) -%}
            {%- set d = declared[position] if position < declared | length else none -%}
            {%- set a = actual[position] if position < actual | length else none -%}
            {%- set d_text = (d.name ~ ' ' ~ d.dtype) if d else 'nothing' -%}
            {%- set a_text = (a.name ~ ' ' ~ a.dtype) if a else 'nothing' -%}
            {%- if d_text | lower != a_text | lower -%}
                {%- do mismatches.append((position + 1, d_text, a_text)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(mismatches) }}
{% endmacro %}
