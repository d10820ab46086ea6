{%- set previous_grid = previous_build_relation('fct_customer_months') %}
-- Grid months (int_months) that fct_customer_months did not hold after the previous build: the
-- grid grew (the first day of a new month, or late data before its first month), so every
-- customer's row of such a month is new. Every grid month without the pipeline's watermark or
-- before the fact's first build. The fact is read as the previous build left it (this model runs
-- before the fact is rebuilt, and must not ref it: a cycle), its months `distinct`: NOT IN builds
-- its lookup from every row of its subquery (the whole table, 58M rows at 10M responses: 2.4-5.6 s
-- against 0.4-0.5 s). A table (the intermediate default), never a view: the fact's tests read it
-- after the fact is rebuilt (macros/tested_rows.sql), when a view would find no month missing.
-- See macros/incremental_scope.sql.
with

months as (

    select month_start_date from {{ ref('int_months') }}

),

held as (

    {%- if previous_grid is not none %}
        select distinct month_start_date from {{ previous_grid }}
    {%- else %}
        select month_start_date from months
        where false
    {%- endif %}

)

select month_start_date
from months
where month_start_date not in (select held.month_start_date from held)
