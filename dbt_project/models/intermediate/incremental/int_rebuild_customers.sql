{%- set previous_order_customers = previous_customers_of(
    'fct_orders', 'order_id', keys_loaded_since(ref('stg_crm__orders'), 'order_id')
) %}

-- Customers all of whose fact rows the incremental facts recompute, whatever their month: customers
-- delivered since the previous build (a new version or current attribute reaches every month of
-- theirs), customers with orders delivered since (a late or replaced order renumbers the
-- customer's later orders) and the customers those orders belonged to before (an order moved to
-- another customer renumbers the old one's later orders). See macros/incremental_scope.sql.
with

changed_customers as (

    select customer_id from {{ ref('stg_crm__customers') }}
    where {{ loaded_since_last_build('loaded_at') }}

),

customers_with_changed_orders as (

    select customer_id from {{ ref('stg_crm__orders') }}
    where {{ loaded_since_last_build('loaded_at') }}

),

{%- if previous_order_customers is not none %}

    previous_order_customers as (

        {{ previous_order_customers }}

    ),
{%- endif %}

customers as (

    select customer_id from changed_customers
    union all
    select customer_id from customers_with_changed_orders
    {%- if previous_order_customers is not none %}
        union all
        select customer_id from previous_order_customers
    {%- endif %}

)

select distinct customer_id
from customers
where customer_id is not null
