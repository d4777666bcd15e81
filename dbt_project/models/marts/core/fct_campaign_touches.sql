with

touches as (

    select * from {{ ref('stg_marketing__campaign_touches') }}

),

campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

final as (

    select
        touches.touch_id,
        touches.campaign_id,
        campaigns.name as campaign_name,
        campaigns.channel as campaign_channel,
        touches.customer_id,
        touches.touched_at,
        touches.touch_type

    from touches
    left join campaigns on touches.campaign_id = campaigns.campaign_id

)

select * from final
