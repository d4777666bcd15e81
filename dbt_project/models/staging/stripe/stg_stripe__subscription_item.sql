{#- The current items of subscriptions (what the open period bills), with their price. -#}
with

source as (

    select * from {{ source('stripe', 'subscription_item') }}

),

prices as (

    select * from {{ ref('stg_stripe__price') }}
    where rejection_reason is null

),

final as (

    select
        source.id as subscription_item_id,
        source.subscription_id,
        source.plan_id as price_id,
        coalesce(source.quantity, 1) as quantity,
        source.created as created_at,
        source.current_period_start,
        source._fivetran_synced as observed_at,
        source._source_file,
        source._source_row,
        coalesce(
            {{ superseded_reason('source.id', relation='source') }},
            case
                when prices.price_id is null
                    then
                        'an item without a price: ' || coalesce(source.plan_id, 'no plan_id')
                        || ' is not a landed price'
            end
        ) as rejection_reason

    from source
    left join prices on source.plan_id = prices.price_id

)

select * from final
