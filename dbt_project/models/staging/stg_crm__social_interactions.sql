with

source as (

    select * from {{ source('raw', 'social_interactions') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by interaction_id
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        interaction_id,
        customer_id,
        platform,
        handle,
        interaction_type,
        sentiment_score,
        occurred_at
    from ranked
    where copy_rank = 1

)

select * from final
