{#- The rows a data test reads (DECISIONLOG "Tests of the rows a build wrote").

    dbt hands every generic test its model through get_where_subquery; this project's version adds,
    to the test's own `where`, the rows the build wrote when that is all that can have changed: in a
    pipeline's incremental build (the watermark of macros/incremental_scope.sql), for an
    error-severity test of rows (not null, accepted values, a parent for each child, uniqueness) on
    a model that declares the rows an incremental build writes (its meta `rebuilt_rows`) and is
    built incrementally (or is a view: staging, scoped by its load time). The rows left out were
    tested by the build that wrote them and nothing has changed them since: deliveries replace rows
    by key (the new version is in scope), parents are never deleted but by an erasure, and an
    erasure, a changed project, seed or var, and `csat run --full-refresh` make the build a full
    refresh, which tests every row. A uniqueness test reads every row that shares a key with a
    written row, so that an earlier version a build failed to delete still counts.

    `rebuilt_rows` maps kinds of scope to the model's column (any one of them puts a row in scope):
    `loaded_at` (loaded since the previous build), `months`, `customers`, `subscribers` and
    `grid_months` (listed in int_rebuild_months, int_rebuild_customers, int_rebuild_subscribers,
    int_rebuild_grid_months), `orders`, `tickets` and `employees` (an order, ticket or employee
    delivered since), and `rows_of: {model, column}` (the column's value is that of a row in scope
    of `model`, by that model's own declaration). It says what the model's filter and pre-hook
    recompute; tests/test_incremental_builds.py fails when an incremental build writes a row outside
    it. -#}

{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append(where) -%}
    {%- endif -%}
    {%- set written = written_rows_tested(relation) -%}
    {%- if written -%}
        {%- do conditions.append(written) -%}
    {%- endif -%}
    {%- if not conditions -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- do return(
        '(select * from ' ~ relation ~ ' where (' ~ conditions | join(') and (') ~ ')) dbt_subquery'
    ) -%}
{%- endmacro %}

{#- The condition on `relation`'s rows that limits the current test to the rows the build wrote, or
    none (every row). `model` is the test node here. -#}
{% macro written_rows_tested(relation) -%}
    {%- set row_tests = [
        'not_null', 'not_null_columns', 'accepted_values', 'accepted_values_columns',
        'accepted_values_from_seed', 'not_accepted_values', 'relationships', 'relationships_columns'
    ] -%}
    {#- a key test reads the rows sharing a key with a written row (below); key_and_not_null_columns
        checks its required columns on those too, a superset of the written rows -#}
    {%- set key_tests = ['unique', 'unique_combination_of_columns', 'key_and_not_null_columns'] -%}
    {%- set is_test = execute and model.resource_type == 'test' -%}
    {%- set test = model.get('test_metadata') if is_test else none -%}
    {%- if not test or test.name not in row_tests + key_tests
        or (model.config.severity | lower) != 'error' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {#- the watermark last: it is a query, which a test of a table or a seed need not wait for -#}
    {%- if not tested or tested.config.materialized not in ('incremental', 'view')
        or last_build_watermark() is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set scope = rebuilt_rows_condition(tested.name) -%}
    {%- if scope is none or test.name in row_tests -%}
        {{- return(scope) -}}
    {%- endif -%}
    {%- set keys = {
        'unique': [test.kwargs.column_name],
        'unique_combination_of_columns': test.kwargs.combination_of_columns,
        'key_and_not_null_columns': test.kwargs.key,
    }[test.name] -%}
    {#- a row of the key's columns (a struct in DuckDB, where NULL fields compare equal, as in the
        uniqueness test); incremental models are DuckDB's only -#}
    {%- set key = '(' ~ keys | join(', ') ~ ')' if keys | length > 1 else keys[0] -%}
    {{- return(key ~ ' in (select ' ~ key ~ ' from ' ~ relation ~ ' where ' ~ scope ~ ')') -}}
{%- endmacro %}

{#- The rows of model `name` its incremental build writes, from its meta `rebuilt_rows` (above), as
    a condition on its columns; none when it declares none. -#}
{% macro rebuilt_rows_condition(name) -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ name) -%}
    {%- set declared = node.config.meta.get('rebuilt_rows') if node else none -%}
    {%- if not declared -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set listed = {
        'months': ('int_rebuild_months', 'month_start_date'),
        'customers': ('int_rebuild_customers', 'customer_id'),
        'subscribers': ('int_rebuild_subscribers', 'customer_id'),
        'grid_months': ('int_rebuild_grid_months', 'month_start_date'),
        'orders': ('stg_crm__orders', 'order_id'),
        'tickets': ('stg_complaints__tickets', 'ticket_id'),
        'employees': ('stg_crm__employees', 'employee_id'),
    } -%}
    {%- set parts = [] -%}
    {%- for kind, column in declared.items() -%}
        {%- if kind == 'loaded_at' -%}
            {%- do parts.append(loaded_since_last_build(column)) -%}
        {%- elif kind == 'rows_of' -%}
            {%- do parts.append(
                column.column ~ ' in (select ' ~ column.column ~ ' from ' ~ model_relation(column.model)
                ~ ' where ' ~ rebuilt_rows_condition(column.model) ~ ')'
            ) -%}
        {%- elif kind in ('orders', 'tickets', 'employees') -%}
            {%- do parts.append(
                column ~ ' in (' ~ keys_loaded_since(model_relation(listed[kind][0]), listed[kind][1]) ~ ')'
            ) -%}
        {%- elif kind in listed -%}
            {%- do parts.append(
                column ~ ' in (select ' ~ listed[kind][1] ~ ' from ' ~ model_relation(listed[kind][0]) ~ ')'
            ) -%}
        {%- else -%}
            {%- do exceptions.raise_compiler_error(
                'model ' ~ name ~ ': unknown kind of rebuilt_rows "' ~ kind ~ '"'
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return('(' ~ parts | join(' or ') ~ ')') -}}
{%- endmacro %}

{#- The relation of model `name`, from dbt's graph: a test may not ref a model it does not depend on
    (dbt fails such a ref at run time). -#}
{% macro model_relation(name) -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ name] -%}
    {{- return(api.Relation.create(
        database=node.database, schema=node.schema, identifier=node.alias
    )) -}}
{%- endmacro %}
