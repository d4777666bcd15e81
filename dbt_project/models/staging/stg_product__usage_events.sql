with

source as (

    select * from {{ source('raw', 'usage_events') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by event_id
            order by _source_file desc, _source_row desc
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
