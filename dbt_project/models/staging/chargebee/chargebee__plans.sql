{#- The raw contract's plans from Chargebee's recurring item prices (plans and add-ons). -#}
with

prices as (

    select * from {{ ref('stg_chargebee__item_price') }}
    where rejection_reason is null and billing_interval is not null

),

items as (

    select * from {{ ref('stg_chargebee__item') }}
    where rejection_reason is null

),

final as (

    select
        prices.item_price_id as plan_id,
        coalesce(items.item_family_id, items.item_name, prices.item_id, 'unknown') as product,
        coalesce(prices.price_name, prices.item_price_id) as plan_name,
        coalesce(items.tier, items.item_name, prices.item_id, 'unknown') as tier,
        prices.billing_interval,
        coalesce(prices.interval_count, 1) as interval_count,
        coalesce(prices.unit_amount, 0) as unit_amount,
        prices.currency,
        coalesce(prices.trial_days, 0) as trial_days,
        prices.created_at as updated_at,
        prices._source_file,
        prices._source_row

    from prices
    left join items on prices.item_id = items.item_id

)

select * from final
