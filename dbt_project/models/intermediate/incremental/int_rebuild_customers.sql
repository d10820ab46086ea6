-- Customers all of whose fact rows the incremental facts recompute, whatever their month: customers
-- delivered since the previous build (a new version or current attribute reaches every month of
-- theirs) and customers with orders delivered since (a late or replaced order renumbers the
-- customer's later orders). See macros/incremental_scope.sql.
with

changed_customers as (

    select customer_id from {{ ref('stg_crm__customers') }}
    where {{ loaded_since_last_build('loaded_at') }}

),

customers_with_changed_orders as (

    select customer_id from {{ ref('stg_crm__orders') }}
    where {{ loaded_since_last_build('loaded_at') }}

),

customers as (

    select customer_id from changed_customers
    union all
    select customer_id from customers_with_changed_orders

)

select distinct customer_id
from customers
where customer_id is not null
