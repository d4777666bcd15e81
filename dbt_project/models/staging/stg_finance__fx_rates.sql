with

source as (

    select * from {{ source('raw', 'fx_rates') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by rate_date, currency
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        rate_date,
        currency,
        rate_to_usd
    from ranked
    where copy_rank = 1

)

select * from final
