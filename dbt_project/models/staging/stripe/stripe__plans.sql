{#-
    The raw contract's plans from Stripe's recurring prices: a price is a plan. Its amount is the
    price's current one; what each subscription paid over time comes from its invoice lines
    (stripe__subscription_events), so a price object's later edit never rewrites history.
-#}
with

prices as (

    select * from {{ ref('stg_stripe__price') }}
    where rejection_reason is null and price_type = 'recurring' and billing_interval is not null

),

products as (

    select * from {{ ref('stg_stripe__product') }}
    where rejection_reason is null

),

final as (

    select
        prices.price_id as plan_id,
        coalesce(products.product_name, prices.product_id, 'unknown') as product,
        coalesce(prices.nickname, products.product_name, prices.price_id) as plan_name,
        coalesce(prices.tier, products.tier, products.product_name, 'unknown') as tier,
        prices.billing_interval,
        coalesce(prices.interval_count, 1) as interval_count,
        coalesce(prices.unit_amount, 0) as unit_amount,
        prices.currency,
        coalesce(prices.trial_days, 0) as trial_days,
        prices.created_at as updated_at,
        prices._source_file,
        prices._source_row

    from prices
    left join products on prices.product_id = products.product_id

)

select * from final
