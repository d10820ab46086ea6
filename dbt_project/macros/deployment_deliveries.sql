{#- What a deployment delivers, read from the tables ingestion writes (raw.entity_delivery,
    raw.delivered_columns). A warehouse without them (loaded before ingestion recorded deliveries)
    falls back to the raw tables themselves: an entity is delivered when its raw table holds rows,
    and every column of such a table counts as delivered (loaders before the deployment config
    required every contract column in every file). -#}

{#- Raw tables of the contract entities: (source, entity). -#}
{% macro contract_raw_entities() -%}
    {{ return([
        ('survey', 'survey_responses'), ('survey', 'survey_item_scores'), ('survey', 'followups'),
        ('complaints', 'tickets'), ('crm', 'customers'), ('crm', 'orders'), ('crm', 'stores'),
        ('crm', 'employees'), ('churn', 'subscriptions')
    ]) }}
{%- endmacro %}

{% macro raw_table(like_relation, entity) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=like_relation.database, schema=like_relation.schema, identifier=entity
    )) }}
{%- endmacro %}

{#- Rows: entity, source, is_declared, is_delivered, rows_loaded, first_loaded_at,
    last_loaded_at. -#}
{% macro entity_delivery_rows(entity_delivery) -%}
    {%- if relation_exists(entity_delivery) -%}
        select
            entity,
            source,
            is_declared,
            is_delivered,
            rows_loaded,
            first_loaded_at,
            last_loaded_at
        from {{ entity_delivery }}
    {%- else -%}
        {%- for source_name, entity in contract_raw_entities() %}
            {%- set raw_relation = raw_table(entity_delivery, entity) %}
            {%- if not loop.first %}
        union all
            {%- endif %}
        select
            '{{ entity }}' as entity,
            '{{ source_name }}' as source,
            {%- if raw_relation is not none %}
            count(*) > 0 as is_declared,
            count(*) > 0 as is_delivered,
            count(*) as rows_loaded,
            min(_loaded_at) as first_loaded_at,
            max(_loaded_at) as last_loaded_at
        from {{ raw_relation }}
            {%- else %}
            false as is_declared,
            false as is_delivered,
            0 as rows_loaded,
            cast(null as {{ dbt.type_timestamp() }}) as first_loaded_at,
            cast(null as {{ dbt.type_timestamp() }}) as last_loaded_at
            {%- endif %}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{#- select entity, column_name -#}
{% macro delivered_column_rows(delivered_columns) -%}
    {%- if relation_exists(delivered_columns) -%}
        select
            entity,
            column_name
        from {{ delivered_columns }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as entity,
            cast(null as {{ dbt.type_string() }}) as column_name
        where 1 = 0
        {%- for source_name, entity in contract_raw_entities() %}
            {%- set raw_relation = raw_table(delivered_columns, entity) %}
            {%- if raw_relation is not none %}
                {%- for column in adapter.get_columns_in_relation(raw_relation) %}
                    {%- if not column.name.startswith('_') %}
        union all
        select
            '{{ entity }}' as entity,
            '{{ column.name | lower }}' as column_name
        where exists (select 1 as found from {{ raw_relation }})
                    {%- endif %}
                {%- endfor %}
            {%- endif %}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{#- Rows of raw.followups (an optional entity), or none when the table does not exist. -#}
{% macro followup_rows(followups) -%}
    {%- if relation_exists(followups) -%}
        select
            followup_id,
            response_id,
            customer_id,
            ticket_id,
            followed_up_at,
            channel,
            employee_id,
            outcome,
            _loaded_at,
            _row_number
        from {{ followups }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as followup_id,
            cast(null as {{ dbt.type_string() }}) as response_id,
            cast(null as {{ dbt.type_string() }}) as customer_id,
            cast(null as {{ dbt.type_string() }}) as ticket_id,
            cast(null as {{ dbt.type_timestamp() }}) as followed_up_at,
            cast(null as {{ dbt.type_string() }}) as channel,
            cast(null as {{ dbt.type_string() }}) as employee_id,
            cast(null as {{ dbt.type_string() }}) as outcome,
            cast(null as {{ dbt.type_timestamp() }}) as _loaded_at,
            cast(null as {{ dbt.type_bigint() }}) as _row_number
        where 1 = 0
    {%- endif -%}
{%- endmacro %}
