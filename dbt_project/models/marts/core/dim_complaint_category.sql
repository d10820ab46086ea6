-- The complaint taxonomy (seed complaint_categories) with each node's top-level category, for
-- rolling a register's issue-level categories up to products. Trees deeper than three levels roll
-- up to the third level from the top.
with

categories as (

    select * from {{ ref('complaint_categories') }}

),

final as (

    select
        {{ surrogate_key(['categories.category']) }} as complaint_category_key,
        categories.category,
        categories.parent_category,
        categories.category_name,
        coalesce(grandparents.category, parents.category, categories.category) as top_category,
        case
            when grandparents.category is not null then 3
            when parents.category is not null then 2
            else 1
        end as category_level
    from categories
    left join categories as parents
        on categories.parent_category = parents.category
    left join categories as grandparents
        on parents.parent_category = grandparents.category

)

select * from final
