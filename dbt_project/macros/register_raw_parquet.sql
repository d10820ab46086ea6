{#- on-run-start: make the raw tables of an export readable as `raw.<table>` (README, "Running on
    Spark"). On Spark the raw layer arrives as Parquet, one folder per table under the dbt var
    `csat_raw_parquet_dir` (a fresh folder per export), and each folder found there is registered
    as an external table (dropping an external table leaves its files alone). A table missing from
    the export is not registered, as a raw table ingestion did not create is absent on DuckDB: the
    models reading it fail with "table not found", and the log names the missing tables first. An
    external raw table an earlier export registered and this one lacks is dropped, so that it is
    not read from the old export (a managed raw table is never dropped here). Without the var
    nothing is registered (the raw tables are already Spark tables). DuckDB reads its own raw
    schema: a no-op there. -#}
{% macro register_raw_parquet_tables() %}
    {{ return(adapter.dispatch('register_raw_parquet_tables', 'csat_warehouse')()) }}
{% endmacro %}

{% macro default__register_raw_parquet_tables() %}
    {{ return('') }}
{% endmacro %}

{% macro spark__register_raw_parquet_tables() %}
    {%- set export_dir = var('csat_raw_parquet_dir', none) -%}
    {%- if execute and export_dir -%}
        {%- set export_dir = export_dir | string | trim -%}
        {%- set export_dir = export_dir[:-1] if export_dir.endswith('/') else export_dir -%}
        {#- The export's folders, listed by Spark itself (binaryFile reads no content when only
            the path is selected): a table is a folder holding a Parquet file, empty tables too. -#}
        {%- set listing = run_query(
            "select distinct regexp_extract(path, '/([^/]+)/[^/]+$', 1) as table_name"
            ~ " from binaryFile.`" ~ export_dir ~ "/*/*.parquet` order by table_name"
        ) -%}
        {%- set exported = listing.columns[0].values() | list -%}
        {%- set declared = graph.sources.values()
            | selectattr('schema', 'equalto', 'raw')
            | map(attribute='identifier') | unique | list -%}
        {%- set missing = declared | reject('in', exported) | list -%}
        {%- if missing -%}
            {{ log('raw tables not in the export ' ~ export_dir ~ ' (not registered): '
                ~ missing | join(', '), info=true) }}
        {%- endif -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- set registered = run_query("show table extended in raw like '*'") -%}
        {%- for row in registered.rows -%}
            {%- set is_external = 'Type: EXTERNAL' in row['information'] -%}
            {%- if is_external and row['tableName'] not in exported and not row['isTemporary'] -%}
                {%- do run_query('drop table if exists raw.`' ~ row['tableName'] ~ '`') -%}
                {{ log('dropped raw.' ~ row['tableName'] ~ ' (registered from an earlier export)',
                    info=true) }}
            {%- endif -%}
        {%- endfor -%}
        {%- for table_name in exported -%}
            {%- set location = export_dir ~ '/' ~ table_name -%}
            {%- do run_query('drop table if exists raw.`' ~ table_name ~ '`') -%}
            {%- do run_query(
                'create table raw.`' ~ table_name ~ '` using parquet location '
                ~ "'" ~ location.replace('\\', '\\\\').replace("'", "\\'") ~ "'"
            ) -%}
        {%- endfor -%}
        {{ log('registered ' ~ exported | length ~ ' raw tables from ' ~ export_dir, info=true) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
