with

source as (

    select * from {{ source('stripe', 'customer') }}

),

final as (

    select
        id as customer_id,
        email,
        name as customer_name,
        phone,
        upper(address_country) as country,
        upper(currency) as currency,
        created as created_at,
        {{ json_text('metadata', '$.acquisition_channel') }} as acquisition_channel,
        {{ json_text('metadata', '$.acquisition_campaign_id') }} as acquisition_campaign_id,
        coalesce(is_deleted, false) as is_deleted,
        _fivetran_synced,
        _source_file,
        _source_row,
        coalesce(
            {{ superseded_reason('id') }},
            case when not coalesce(livemode, true) then 'a test-mode object (livemode false)' end
        ) as rejection_reason

    from source

)

select * from final
