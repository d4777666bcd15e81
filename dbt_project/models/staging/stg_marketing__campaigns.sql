with

source as (

    select * from {{ source('raw', 'campaigns') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by campaign_id
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        campaign_id,
        name,
        channel,
        started_at,
        ended_at,
        spend,
        currency
    from ranked
    where copy_rank = 1

)

select * from final
