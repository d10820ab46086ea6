-- kpi_round gives the published value the rounding rule promises (DECISIONLOG, "Rounding"): ties
-- at the 5th decimal round half away from zero, also when the double that carries the tie lies a
-- last bit below it (a sum of doubles in another order), where round() on the double differs
-- between engines; and every published kpi_monthly value is already so rounded. Returns the cases
-- and values that are not.
{%- set cases = [
    ('0.00005', '0.0001'),
    ('-0.00005', '-0.0001'),
    ('0.00015', '0.0002'),
    ('1.00005', '1.0001'),
    ('2.67465', '2.6747'),
    ('12.34565', '12.3457'),
    ('12.345649999999999', '12.3457'),
    ('12.345650000000001', '12.3457'),
    ('-12.345649999999999', '-12.3457'),
    ('99.99995', '100.0'),
    ('0.000049', '0.0'),
    ('33.33333333333333', '33.3333'),
    ('0.0', '0.0'),
] %}
with

kpi_monthly as (

    select * from {{ ref('kpi_monthly') }}

),

cases as (

    {% for input_value, expected_value in cases %}
        select
            cast({{ input_value }} as {{ type_double() }}) as input_value,
            cast({{ expected_value }} as {{ type_double() }}) as expected_value
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

sums as (

    -- 0.1 + 0.2 is 0.30000000000000004: 0.1 + 0.2 - 0.30005 lies a last bit off -0.00005
    select
        cast(0.1 as {{ type_double() }}) + cast(0.2 as {{ type_double() }})
        - cast(0.30005 as {{ type_double() }}) as input_value,
        cast(-0.0001 as {{ type_double() }}) as expected_value

),

published as (

    select
        value as input_value,
        value as expected_value
    from kpi_monthly
    where value is not null

),

all_cases as (

    select * from cases
    union all
    select * from sums
    union all
    select * from published

),

final as (

    select
        input_value,
        expected_value,
        {{ kpi_round('input_value', 4) }} as rounded_value
    from all_cases
    where
        {{ kpi_round('input_value', 4) }} <> expected_value
        or {{ kpi_round('input_value', 4) }} is null

)

select * from final
