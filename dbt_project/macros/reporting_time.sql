{#- Reporting time zone (dbt var `reporting_time_zone`, IANA name, default UTC). Timestamps are
    stored in UTC; months and days are cut in the reporting time zone, so a company in Shanghai or
    Sao Paulo gets its own calendar months. With UTC no conversion is emitted at all (same SQL and
    results as before the setting existed). Engine-specific, hence adapter.dispatch. -#}
{% macro reporting_time_zone() -%}
    {{- return(var('reporting_time_zone', 'UTC')) -}}
{%- endmacro %}

{% macro is_utc_reporting() -%}
    {{- return(reporting_time_zone() | upper in ['UTC', 'ETC/UTC', 'Z', 'GMT']) -}}
{%- endmacro %}

{#- A UTC timestamp as wall-clock time in the reporting time zone. -#}
{% macro to_reporting_time(utc_at) -%}
    {%- if is_utc_reporting() -%}
        {{ utc_at }}
    {%- else -%}
        {{ return(adapter.dispatch('to_reporting_time', 'csat_warehouse')(
            utc_at, reporting_time_zone()
        )) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__to_reporting_time(utc_at, time_zone) -%}
    ({{ utc_at }} at time zone 'UTC' at time zone '{{ time_zone }}')
{%- endmacro %}

{% macro duckdb__to_reporting_time(utc_at, time_zone) -%}
    timezone('{{ time_zone }}', timezone('UTC', cast({{ utc_at }} as timestamp)))
{%- endmacro %}

{% macro spark__to_reporting_time(utc_at, time_zone) -%}
    from_utc_timestamp({{ utc_at }}, '{{ time_zone }}')
{%- endmacro %}

{#- A wall-clock time of the reporting time zone as the UTC timestamp of that instant. -#}
{% macro from_reporting_time(local_at) -%}
    {%- if is_utc_reporting() -%}
        {{ local_at }}
    {%- else -%}
        {{ return(adapter.dispatch('from_reporting_time', 'csat_warehouse')(
            local_at, reporting_time_zone()
        )) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__from_reporting_time(local_at, time_zone) -%}
    ({{ local_at }} at time zone '{{ time_zone }}' at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__from_reporting_time(local_at, time_zone) -%}
    timezone('UTC', timezone('{{ time_zone }}', cast({{ local_at }} as timestamp)))
{%- endmacro %}

{% macro spark__from_reporting_time(local_at, time_zone) -%}
    to_utc_timestamp({{ local_at }}, '{{ time_zone }}')
{%- endmacro %}

{#- First day of the reporting-time-zone month of a UTC timestamp, as a date. -#}
{% macro reporting_month(utc_at) -%}
    cast({{ dbt.date_trunc('month', to_reporting_time(utc_at)) }} as date)
{%- endmacro %}

{#- The reporting-time-zone calendar date of a UTC timestamp. -#}
{% macro reporting_date(utc_at) -%}
    cast({{ to_reporting_time(utc_at) }} as date)
{%- endmacro %}
