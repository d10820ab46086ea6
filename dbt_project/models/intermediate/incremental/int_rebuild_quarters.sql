{%- set previous_statistics = previous_build_relation('int_driver_correlations') %}
{%- set every_quarter = previous_statistics is none
    or incremental_materialization() != 'incremental' %}
{#- refs outside the `if`, so that dbt records them when it parses the model (no previous build) #}
{%- set driver_pairs = ref('int_driver_pairs') %}
{%- set survey_responses = ref('stg_survey__survey_responses') %}
{%- set item_scores = ref('stg_survey__survey_item_scores') %}
{%- set customers = ref('stg_crm__customers') %}
{%- set tickets = ref('stg_complaints__tickets') %}

-- Quarters (reporting time zone) whose key-driver statistics (int_driver_correlations,
-- int_driver_regression_inputs, and the response-grain views they read) a build recomputes. A
-- quarter's statistics read its responses' scores and outcomes, their customers' segment, the
-- resolution of the complaints they are about, and the pairs of outcomes and drivers of the whole
-- history (int_driver_pairs). So: the quarters of the responses delivered since the previous
-- build or whose item scores were, of every response of a customer delivered since, and of the
-- responses about a ticket delivered since; every quarter when the pairs differ from those the
-- previous build's statistics were made of (an item or dimension delivered for the first time, an
-- outcome delivered at last), in a full build, and where the statistics are tables (Spark).
-- Survey responses never move to another quarter or customer (the raw gate refuses a re-delivered
-- answer); quarters the previous statistics hold and no response does any more are listed anyway,
-- so that they are deleted. See macros/incremental_scope.sql.
with

responses as (

    select
        response_id,
        customer_id,
        ticket_id,
        quarter_start_date
    from {{ ref('int_analytics_responses') }}
    where quarter_start_date is not null

),

{%- if every_quarter %}

    final as (

        select distinct quarter_start_date from responses

    )
{%- else %}

    driver_pairs as (

        select {{ driver_pair_columns() }}
        from {{ driver_pairs }}

    ),

    previous_statistics as (

        select * from {{ previous_statistics }}

    ),

    previous_pairs as (

        select distinct {{ driver_pair_columns() }}
        from previous_statistics

    ),

    changed_pairs as (

        select count(*) as pairs
        from (
            (
                select * from driver_pairs
                except
                select * from previous_pairs
            )
            union all
            (
                select * from previous_pairs
                except
                select * from driver_pairs
            )
        ) as differences

    ),

    changed_responses as (

        select response_id from {{ survey_responses }}
        where {{ loaded_since_last_build('loaded_at') }}
        union all
        select response_id from {{ item_scores }}
        where {{ loaded_since_last_build('loaded_at') }}

    ),

    changed_customers as (

        select customer_id from {{ customers }}
        where {{ loaded_since_last_build('loaded_at') }}

    ),

    changed_tickets as (

        select ticket_id from {{ tickets }}
        where {{ loaded_since_last_build('loaded_at') }}

    ),

    quarters as (

        select quarter_start_date from responses
        where
            (select changed_pairs.pairs from changed_pairs) > 0
            or response_id in (select changed_responses.response_id from changed_responses)
            or customer_id in (select changed_customers.customer_id from changed_customers)
            or ticket_id in (select changed_tickets.ticket_id from changed_tickets)
        union all
        select quarter_start_date from previous_statistics
        where
            quarter_start_date not in (
                -- distinct: NOT IN builds its lookup from every row of its subquery. From the
                -- table, not from `responses`: DuckDB materialises a CTE read twice, here every
                -- response (0.9-1.0 -> 0.7 s in the 10M daily increment)
                select distinct every_response.quarter_start_date
                from {{ ref('int_analytics_responses') }} as every_response
                where every_response.quarter_start_date is not null
            )

    ),

    final as (

        select distinct quarter_start_date from quarters

    )
{%- endif %}

select * from final
