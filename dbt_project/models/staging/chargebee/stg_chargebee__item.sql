with

source as (

    select * from {{ source('chargebee', 'item') }}

),

final as (

    select
        id as item_id,
        name as item_name,
        type as item_type,
        item_family_id,
        coalesce(metered, false) as is_metered,
        {{ json_text('metadata', '$.tier') }} as tier,
        _source_file,
        _source_row,
        {{ superseded_reason('id', 'resource_version') }} as rejection_reason

    from source

)

select * from final
