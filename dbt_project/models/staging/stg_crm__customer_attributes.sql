with

source as (

    select * from {{ source('raw', 'customer_attributes') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by customer_id, attribute_name, updated_at
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        customer_id,
        attribute_name,
        attribute_value,
        updated_at
    from ranked
    where copy_rank = 1

)

select * from final
