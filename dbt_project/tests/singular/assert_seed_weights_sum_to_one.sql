-- The CSI item weights and the SERVQUAL dimension weights each sum to 1 (KPIS.md).
with

csi_weights as (

    select * from {{ ref('csi_weights') }}

),

servqual_weights as (

    select * from {{ ref('servqual_weights') }}

),

sums as (

    select
        'csi_weights' as seed_name,
        sum(weight) as total_weight,
        count(*) as weight_count
    from csi_weights
    union all
    select
        'servqual_weights' as seed_name,
        sum(weight) as total_weight,
        count(*) as weight_count
    from servqual_weights

),

final as (

    select * from sums
    where
        abs(total_weight - 1) > 1e-9
        or (seed_name = 'csi_weights' and weight_count <> 3)
        or (seed_name = 'servqual_weights' and weight_count <> 5)

)

select * from final
