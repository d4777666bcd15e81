with

source as (

    select * from {{ source('raw', 'support_tickets') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by ticket_id
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        ticket_id,
        customer_id,
        opened_at,
        resolved_at,
        channel,
        priority,
        category,
        satisfaction_score
    from ranked
    where copy_rank = 1

)

select * from final
