with

source as (

    select * from {{ source('raw', 'preferences') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by customer_id, preference_key, updated_at
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        customer_id,
        preference_key,
        updated_at,
        preference_value
    from ranked
    where copy_rank = 1

)

select * from final
