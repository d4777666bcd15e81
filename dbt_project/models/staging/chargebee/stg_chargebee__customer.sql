with

source as (

    select * from {{ source('chargebee', 'customer') }}

),

final as (

    select
        id as customer_id,
        email,
        nullif(trim(coalesce(first_name, '') || ' ' || coalesce(last_name, '')), '') as full_name,
        phone,
        upper({{ json_text('billing_address', '$.country') }}) as country,
        created_at,
        coalesce(updated_at, created_at) as updated_at,
        {{ json_text('meta_data', '$.acquisition_channel') }} as acquisition_channel,
        {{ json_text('meta_data', '$.acquisition_campaign_id') }} as acquisition_campaign_id,
        _source_file,
        _source_row,
        {{ superseded_reason('id', 'resource_version') }} as rejection_reason

    from source

)

select * from final
