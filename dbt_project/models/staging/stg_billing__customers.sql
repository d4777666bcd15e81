with

customers as (

    select * from {{ ref('base_billing__customers') }}

),

final as (

    select
        customer_id,
        {{ hash_email('email') }} as email_hash,
        country,
        created_at,
        acquisition_channel,
        acquisition_campaign_id,
        updated_at
    from customers

)

select * from final
