{#- Month-partitioned incremental facts (DECISIONLOG "Incremental builds").

    A pipeline build passes the dbt var `csat_build_state`: the table where the pipeline keeps the
    newest raw load the previous successful build had read (dagster_project/build_state.py); the
    models read that watermark when they run (a var holding it would change every run, and dbt
    parses the whole project again when a var changes: DECISIONLOG "dbt's saved parse kept from one
    run to the next"). Rows loaded after it are the changes; int_rebuild_months and int_rebuild_customers
    turn them into the rows each incremental fact recomputes: its months touched by the changes, and
    every row of a customer whose changes reach across months (attribute versions, order ranks).
    Without the var (a build typed by hand) every row is in scope, so an incremental run recomputes
    the whole model, never a stale part. Code, seeds or vars that changed, an erasure, or
    `csat run --full-refresh` make the pipeline pass --full-refresh.

    Engines without DELETE on plain tables (Spark with Parquet) build these models as tables. -#}

{% macro incremental_materialization() -%}
    {{- return(adapter.dispatch('incremental_materialization', 'csat_warehouse')()) -}}
{%- endmacro %}

{% macro default__incremental_materialization() -%}
    {{- return('table') -}}
{%- endmacro %}

{% macro duckdb__incremental_materialization() -%}
    {{- return('incremental') -}}
{%- endmacro %}

{#- The newest raw load the previous successful pipeline build had read; none outside a pipeline's
    incremental build (no var, --full-refresh) and while dbt parses (no query runs then). Read once
    per node context and kept in it (`model`, a dict dbt makes for each node; a model's pre-hook is
    rendered in a context of its own, so a model with one reads it twice): a model's scope macros
    and a test's rows ask for it up to a dozen times, and each read is a connection dbt opens and
    closes, about 10 ms (DECISIONLOG "A node reads the previous build's watermark once"). -#}
{% macro last_build_watermark() -%}
    {%- set state_table = var('csat_build_state', none) -%}
    {%- if state_table is none or flags.FULL_REFRESH or not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- if model is not mapping -%}
        {{- return(read_build_watermark(state_table)) -}}
    {%- endif -%}
    {%- if 'csat_build_watermark' not in model -%}
        {%- do model.update({'csat_build_watermark': read_build_watermark(state_table)}) -%}
    {%- endif -%}
    {{- return(model['csat_build_watermark']) -}}
{%- endmacro %}

{% macro read_build_watermark(state_table) -%}
    {%- set found = run_query('select cast(max(watermark) as varchar) from ' ~ state_table) -%}
    {{- return(found.columns[0].values()[0]) -}}
{%- endmacro %}

{#- A row loaded after the previous successful build (every row when there is none). -#}
{% macro loaded_since_last_build(loaded_at) -%}
    {%- set since = last_build_watermark() -%}
    {%- if since is none -%}
        true
    {%- else -%}
        {{ loaded_at }} > cast('{{ since }}' as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}

{#- The customers the previous build gave the keys of `fact` (a model name) that were delivered
    again since (`changed_keys`, a query): a replaced row may have moved to another customer, whose
    other rows change too (the later orders' ranks). Read from the fact as the previous build left
    it: the scope model that calls this runs before the fact is rebuilt (the fact reads the scope,
    or depends on the models that do), so it must not ref it (a cycle). None outside a pipeline's
    incremental build, or before the fact's first build. -#}
{% macro previous_customers_of(fact, key_column, changed_keys) -%}
    {%- set relation = previous_build_relation(fact) -%}
    {%- if relation is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return('select customer_id from ' ~ relation ~ ' where ' ~ key_column
        ~ ' in (' ~ changed_keys ~ ')') -}}
{%- endmacro %}

{#- The table of `model` (a model name) as the previous build left it, for a model that reads it
    before `model` is rebuilt (and so must not ref it: a cycle). None outside a pipeline's
    incremental build, or before the model's first build. -#}
{% macro previous_build_relation(model) -%}
    {%- if last_build_watermark() is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ model] -%}
    {{- return(adapter.get_relation(node.database, node.schema, node.alias)) -}}
{%- endmacro %}

{#- The rows an incremental build recomputes: in a month to rebuild, or of a customer to rebuild;
    every row without the pipeline's watermark (then int_rebuild_* may be from another build, e.g.
    `dbt build --select fct_orders` by hand). The refs stand outside the `if` so that dbt records them
    when it parses the model. -#}
{% macro in_rebuild_scope(month_column, customer_column) -%}
    {%- set months = ref('int_rebuild_months') -%}
    {%- set customers = ref('int_rebuild_customers') -%}
    {%- if is_incremental() and last_build_watermark() is not none -%}
        (
            {{ month_column }} in (select month_start_date from {{ months }})
            or {{ customer_column }} in (select customer_id from {{ customers }})
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The rows about an order or a ticket delivered since the previous build (their store, agent or
    status may have changed), for a model that attributes rows to them (int_analytics_responses);
    false without the pipeline's watermark, where in_rebuild_scope is true anyway. -#}
{% macro about_changed_orders_or_tickets(order_column, ticket_column) -%}
    {%- set orders = ref('stg_crm__orders') -%}
    {%- set tickets = ref('stg_complaints__tickets') -%}
    {%- if is_incremental() and last_build_watermark() is not none -%}
        (
            {{ order_column }} in ({{ keys_loaded_since(orders, 'order_id') }})
            or {{ ticket_column }} in ({{ keys_loaded_since(tickets, 'ticket_id') }})
        )
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#- The rows of int_analytics_responses an incremental build recomputes: in a month or of a customer
    to rebuild, or about an order or ticket delivered since. Its pre-hook's scope, which
    int_driver_observations follows (a response's key-driver values are its attributions' and
    scores', and the resolution of the ticket it is about). -#}
{% macro in_analytics_response_scope() -%}
    {{ in_rebuild_scope('month_start_date', 'customer_id') }}
    or {{ about_changed_orders_or_tickets('order_id', 'ticket_id') }}
{%- endmacro %}

{#- The complaints an incremental build recomputes (int_complaints_timed, and after it
    fct_complaints and int_analytics_complaints), as a condition on a complaint's columns
    (customer_id, ticket_id, order_id, agent_id): those of a customer to rebuild (their current
    segment, region, account manager and home store, their versions), and those about a ticket, an
    order or an agent delivered since (the ticket's own columns, the order's key and store, the
    agent's key, which a late delivery turns from NULL into a key). A complaint's row reads nothing
    of other complaints, so these are all the rows a delivery can change; every row without the
    pipeline's watermark, as in_rebuild_scope. The ref stands outside the `if`, as there. -#}
{% macro in_complaint_scope() -%}
    {%- set employees = ref('stg_crm__employees') -%}
    {{ in_rebuild_customers('customer_id') }}
    or {{ about_changed_orders_or_tickets('order_id', 'ticket_id') }}
    {%- if is_incremental() and last_build_watermark() is not none %}
        or agent_id in ({{ keys_loaded_since(employees, 'employee_id') }})
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of a model that follows int_complaints_timed by ticket (fct_complaints,
    int_analytics_complaints): delete the complaints that model recomputed, and every ticket
    delivered again (one that is no longer a complaint is not in int_complaints_timed any more), as
    delete_rebuild_scope. -#}
{% macro delete_complaint_scope() -%}
    {{ delete_rebuild_scope(
        'ticket_id in (select ticket_id from ' ~ ref('int_complaints_timed') ~ ' where '
        ~ in_complaint_scope() ~ ')',
        'ticket_id',
        keys_loaded_since(ref('stg_complaints__tickets'), 'ticket_id')
    ) }}
{%- endmacro %}

{#- The rows of a model incremental by customer (a customer-grain model, or one whose rows depend on
    their customer's other rows: int_orders_classified) that an incremental build recomputes: those
    of a customer to rebuild (int_rebuild_customers); every row without the pipeline's watermark, as
    in_rebuild_scope. -#}
{% macro in_rebuild_customers(customer_column) -%}
    {%- set customers = ref('int_rebuild_customers') -%}
    {%- if is_incremental() and last_build_watermark() is not none -%}
        {{ customer_column }} in (select customer_id from {{ customers }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of a model incremental by one scope (in_rebuild_quarters, in_rebuild_customers): delete
    the rows in `scope` (a condition on the model's columns), in the model's transaction, as
    delete_rebuild_scope. -#}
{% macro delete_in_scope(scope) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ scope }}
    {%- endif -%}
{%- endmacro %}

{#- The keys of `relation` loaded since the previous build (a query). -#}
{% macro keys_loaded_since(relation, key_column) -%}
    select {{ key_column }} from {{ relation }}
    where {{ loaded_since_last_build('loaded_at') }}
{%- endmacro %}

{#- Pre-hook of an incremental fact: delete the rows in the build's scope (`scope`, a condition on
    the fact's columns) and the earlier version of every key delivered again (`changed_keys`, a
    query: a replaced row may have moved to another month or customer). It runs in the model's
    transaction, so a failed build leaves the table as it was. -#}
{% macro delete_rebuild_scope(scope, key_column, changed_keys) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ scope }} or {{ key_column }} in ({{ changed_keys }})
    {%- endif -%}
{%- endmacro %}

{#- The customer x month rows an incremental build recomputes (fct_customer_months): every row of a
    customer in int_rebuild_subscribers, and every row of a grid month the table did not hold after
    the previous build (int_rebuild_grid_months: the grid grew, the first day of a new month or late
    data before its first month). Every row without the pipeline's watermark, as in_rebuild_scope. -#}
{% macro in_customer_month_scope(month_column, customer_column) -%}
    {%- set customers = ref('int_rebuild_subscribers') -%}
    {%- set months = ref('int_rebuild_grid_months') -%}
    {%- if is_incremental() and last_build_watermark() is not none -%}
        (
            {{ customer_column }} in (select customer_id from {{ customers }})
            or {{ month_column }} in (select month_start_date from {{ months }})
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the customer x month fact: delete the rows of the customers to rebuild (the scope's
    months not built yet have no rows), and the rows of months no longer in the grid (a re-delivered
    row can move the data's last month back). In the model's transaction, as delete_rebuild_scope. -#}
{% macro delete_customer_month_scope() -%}
    {%- set months = ref('int_months') -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            {{ in_customer_month_scope('month_start_date', 'customer_id') }}
            or month_start_date not in (select month_start_date from {{ months }})
    {%- endif -%}
{%- endmacro %}

{#- Quarter-partitioned key-driver statistics (int_driver_correlations,
    int_driver_regression_inputs): the rows of the quarters in int_rebuild_quarters, which lists
    every quarter in a full build. The response-grain views under them read only those quarters
    too, so their tests do. -#}
{% macro in_rebuild_quarters(quarter_column) -%}
    {{ quarter_column }} in (select quarter_start_date from {{ ref('int_rebuild_quarters') }})
{%- endmacro %}
