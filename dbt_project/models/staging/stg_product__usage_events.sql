with

source as (

    select * from {{ source('raw', 'usage_events') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy delivered last wins (a later day folder,
        -- then the file name sorting last), then the later row of that file
        row_number() over (
            partition by event_id
            order by {{ latest_delivery_first() }}
        ) as copy_rank
    from source

),

final as (

    select
        event_id,
        customer_id,
        occurred_at,
        event_name,
        quantity,
        properties
    from ranked
    where copy_rank = 1

)

select * from final
