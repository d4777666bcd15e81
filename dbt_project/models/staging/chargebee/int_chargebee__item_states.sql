{#-
    Every subscription event's state, one row per subscription item in it (docs/sources/
    chargebee.md): the event's content is the whole subscription right after it. Status in the
    raw contract's words (in_trial: trialing; active and non_renewing — cancelling at the term's
    end — pay; paused; cancelled and transferred: canceled; a future subscription has not
    started); the discount is the subscription's coupons still applying at the event (apply_till
    after it, or none): percentages add up, a fixed amount is its share of the items' amounts.
    Metered items are usage revenue and charge items one-time: neither is MRR, both are left out.
-#}
with

events as (

    select * from {{ ref('stg_chargebee__event') }}
    where rejection_reason is null and status <> 'future'

),

item_prices as (

    select * from {{ ref('stg_chargebee__item_price') }}
    where rejection_reason is null

),

items_catalog as (

    select * from {{ ref('stg_chargebee__item') }}
    where rejection_reason is null

),

coupons as (

    select * from {{ ref('stg_chargebee__coupon') }}
    where rejection_reason is null

),

currencies as (

    select * from {{ ref('currencies') }}

),

exploded_items as (

    select
        events.*,
        {{ json_array_elements('events.subscription_items') }} as item

    from events

),

items as (

    select
        exploded_items.event_id,
        exploded_items.subscription_id,
        exploded_items.customer_id,
        exploded_items.occurred_at,
        exploded_items.resource_version,
        exploded_items.status,
        exploded_items.currency,
        exploded_items.cancel_reason,
        exploded_items.cancel_reason_code,
        exploded_items._source_file,
        exploded_items._source_row,
        {{ json_text('exploded_items.item', '$.item_price_id') }} as item_price_id,
        {{ json_text('exploded_items.item', '$.item_type') }} as item_type,
        cast(coalesce({{ json_text('exploded_items.item', '$.quantity') }}, '1') as bigint)
            as quantity,
        cast({{ json_text('exploded_items.item', '$.unit_price') }} as decimal(18, 4))
            as unit_price_minor,
        cast({{ json_text('exploded_items.item', '$.amount') }} as decimal(18, 4))
            as amount_minor

    from exploded_items

),

exploded_coupons as (

    select
        events.event_id,
        events.occurred_at,
        {{ json_array_elements('events.coupons') }} as coupon

    from events

),

applied_coupons as (

    select
        exploded_coupons.event_id,
        coupons.discount_type,
        coupons.discount_percentage,
        coupons.discount_amount

    from exploded_coupons
    inner join coupons
        on {{ json_text('exploded_coupons.coupon', '$.coupon_id') }} = coupons.coupon_id
    where
        {{ json_text('exploded_coupons.coupon', '$.apply_till') }} is null
        or {{ epoch_to_timestamp(json_text('exploded_coupons.coupon', '$.apply_till')) }}
        > exploded_coupons.occurred_at

),

event_amounts as (

    select
        items.event_id,
        sum(items.amount_minor / power(10, currencies.minor_units)) as amount

    from items
    left join currencies on items.currency = currencies.currency_code
    group by items.event_id

),

event_discounts as (

    select
        applied_coupons.event_id,
        least(
            100,
            coalesce(
                sum(
                    case
                        when applied_coupons.discount_type = 'percentage'
                            then applied_coupons.discount_percentage
                    end
                ),
                0
            )
            + coalesce(
                100.0 * sum(
                    case
                        when applied_coupons.discount_type = 'fixed_amount'
                            then applied_coupons.discount_amount
                    end
                ) / nullif(max(event_amounts.amount), 0),
                0
            )
        ) as discount_pct

    from applied_coupons
    left join event_amounts on applied_coupons.event_id = event_amounts.event_id
    group by applied_coupons.event_id

),

final as (

    select
        case
            when items.item_type = 'plan' then items.subscription_id
            else items.subscription_id || '/' || items.item_price_id
        end as native_subscription_id,
        items.subscription_id,
        items.customer_id,
        items.event_id,
        items.occurred_at as changed_at,
        items.resource_version,
        case items.status
            when 'in_trial' then 'trialing'
            when 'active' then 'active'
            when 'non_renewing' then 'active'
            when 'paused' then 'paused'
            else 'canceled'
        end as status,
        case
            when items.cancel_reason is not null then 'payment_failed'
            when items.cancel_reason_code in (
                'too_expensive', 'missing_features', 'switched_competitor', 'not_using', 'other'
            ) then items.cancel_reason_code
            else 'other'
        end as cancel_reason,
        items.item_price_id as plan_id,
        items.quantity,
        cast(
            coalesce(items.unit_price_minor, items.amount_minor / nullif(items.quantity, 0))
            / power(10, currencies.minor_units) as decimal(18, 4)
        ) as unit_amount,
        coalesce(event_discounts.discount_pct, 0) as discount_pct,
        items.currency,
        items._source_file,
        items._source_row

    from items
    left join event_discounts on items.event_id = event_discounts.event_id
    left join currencies on items.currency = currencies.currency_code
    left join item_prices on items.item_price_id = item_prices.item_price_id
    left join items_catalog on item_prices.item_id = items_catalog.item_id
    where not coalesce(items_catalog.is_metered, false) and items.item_type <> 'charge'

)

select * from final
