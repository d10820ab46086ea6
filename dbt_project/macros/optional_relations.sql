{#- Tolerance for raw tables and columns a warehouse may not have (yet): a deployment that never
    delivered an entity, or a warehouse written before ingestion recorded deliveries. Both look at
    the warehouse's catalogue at run time; while dbt parses they assume everything exists. -#}

{#- True when `relation` exists in the warehouse. -#}
{% macro relation_exists(relation) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {{ return(found is not none) }}
{%- endmacro %}

{#- The lower-cased column names of `relation` ([] when it does not exist). -#}
{% macro relation_columns(relation) -%}
    {%- if not execute or not relation_exists(relation) -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- `column` when the relation has it, else a typed NULL (an optional contract column that this
    warehouse's raw table does not carry). `columns` is relation_columns(relation). -#}
{% macro column_or_null(columns, column, data_type) -%}
    {%- if not execute or column | lower in columns -%}
        {{ column }}
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{%- endmacro %}
