-- Employees (agents, account managers, store staff), without their names.
with

employees as (

    select * from {{ ref('stg_crm__employees') }}

),

stores as (

    select * from {{ ref('dim_store') }}

),

final as (

    select
        {{ surrogate_key(['employees.employee_id']) }} as employee_key,
        employees.employee_id,
        coalesce(employees.role, 'unknown') as role,
        employees.team,
        stores.store_key,
        employees.hired_date
    from employees
    left join stores
        on employees.store_id = stores.store_id

)

select * from final
