with

source as (

    select * from {{ source('stripe', 'product') }}

),

final as (

    select
        id as product_id,
        name as product_name,
        {{ json_text('metadata', '$.tier') }} as tier,
        _source_file,
        _source_row,
        coalesce(
            {{ superseded_reason('id') }},
            case when not coalesce(livemode, true) then 'a test-mode object (livemode false)' end
        ) as rejection_reason

    from source

)

select * from final
