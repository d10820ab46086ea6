{#- Rank (1 = highest `measure`) among the rows of the same `partition_by` group whose `rankable`
    flag is true; NULL for rows that are not rankable (too small a sample to compare fairly). -#}
{% macro rank_within(measure, rankable, partition_by) -%}
    {#- rank() is a bigint on DuckDB, an int on Spark: one type on both -#}
    cast(case
        when {{ rankable }}
            then rank() over (
                    partition by {{ partition_by | join(', ') }}, {{ rankable }}
                    order by {{ measure }} desc
                )
    end as {{ dbt.type_bigint() }})
{%- endmacro %}
