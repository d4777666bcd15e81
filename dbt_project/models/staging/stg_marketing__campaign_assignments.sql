with

source as (

    select * from {{ source('raw', 'campaign_assignments') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by assignment_id
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        assignment_id,
        campaign_id,
        customer_id,
        audience,
        arm,
        offer,
        offer_discount_pct,
        offer_months,
        assigned_at
    from ranked
    where copy_rank = 1

)

select * from final
