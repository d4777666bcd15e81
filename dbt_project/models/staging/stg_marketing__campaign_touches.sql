with

source as (

    select * from {{ source('raw', 'campaign_touches') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by touch_id
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        touch_id,
        campaign_id,
        customer_id,
        touched_at,
        touch_type,
        assignment_id,
        offer
    from ranked
    where copy_rank = 1

)

select * from final
