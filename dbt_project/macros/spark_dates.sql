{#- dbt's dateadd on Spark, replaced for this project (a root-project `spark__dateadd` takes
    precedence over dbt-spark's). dbt-spark's goes through to_unix_timestamp, whole seconds of a
    TIMESTAMP_LTZ: it drops the microseconds (a 90-day window then ends up to a second early) and
    gives NULL for the TIMESTAMP_NTZ values this project's timestamps are on Spark. timestampadd is
    exact to the microsecond, keeps the type of a timestamp, turns a date into a timestamp at
    midnight (DuckDB's date + interval does too) and clamps to the month's last day as DuckDB does
    (2024-01-31 + 1 month = 2024-02-29). -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}
