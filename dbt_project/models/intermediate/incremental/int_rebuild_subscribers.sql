{%- set previous_subscribers = previous_customers_of(
    'fct_subscriptions', 'subscription_id',
    keys_loaded_since(ref('stg_churn__subscriptions'), 'subscription_id')
) %}

-- Customers all of whose customer x month rows (fct_customer_months) an incremental build
-- recomputes: customers delivered since the previous build (their dimension versions), the
-- customers of subscriptions delivered since, and the customers those subscriptions belonged to
-- before (a subscription moved to another customer leaves the old one's months). The previous
-- owners come from fct_subscriptions as the previous build left it; fct_subscriptions is built
-- after the customer x month fact (its depends_on), so it never holds an owner that fact has not
-- caught up with. See macros/incremental_scope.sql.
with

changed_customers as (

    select customer_id from {{ ref('stg_crm__customers') }}
    where {{ loaded_since_last_build('loaded_at') }}

),

subscribers_with_changed_subscriptions as (

    select customer_id from {{ ref('stg_churn__subscriptions') }}
    where {{ loaded_since_last_build('loaded_at') }}

),

{%- if previous_subscribers is not none %}

    previous_subscribers as (

        {{ previous_subscribers }}

    ),
{%- endif %}

customers as (

    select customer_id from changed_customers
    union all
    select customer_id from subscribers_with_changed_subscriptions
    {%- if previous_subscribers is not none %}
        union all
        select customer_id from previous_subscribers
    {%- endif %}

)

select distinct customer_id
from customers
where customer_id is not null
