{#-
    What each subscription item billed, and from when (docs/sources/stripe.md, State over time):
    - a period line (type subscription, not a proration) bills the item's price, quantity and unit
      amount from its period_start, with the period's discount (int_stripe__period_discounts);
    - a change inside a period bills a proration pair: the "Remaining time" line (amount >= 0)
      carries the new price, quantity and unit amount from its period_start, the change's instant;
    - the current subscription_item, when its price or quantity differ from its latest line (a
      change billed without proration), from when the connector synced it: a change the source
      does not date shows then, or at the next period line;
    - an item removed from its subscription (an add-on dropped): is_removal, from the period
      start of the subscription's first period line after the item's latest line, when the item
      is not among the current subscription_item rows; it keeps its last billed state.
    Metered prices are usage revenue, not MRR: their items are left out. Lines of void and draft
    invoices bill nothing and are not read.
-#}
with

lines as (

    select * from {{ ref('stg_stripe__invoice_line_item') }}
    where
        rejection_reason is null
        and line_type = 'subscription'
        and subscription_item_id is not null
        and invoice_status not in ('void', 'draft')
        and coalesce(usage_type, 'licensed') <> 'metered'

),

discounts as (

    select * from {{ ref('int_stripe__period_discounts') }}

),

items as (

    select * from {{ ref('stg_stripe__subscription_item') }}
    where rejection_reason is null

),

prices as (

    select * from {{ ref('stg_stripe__price') }}
    where rejection_reason is null

),

prorations as (

    select
        *,
        row_number() over (
            partition by subscription_item_id, period_start order by amount desc, line_id desc
        ) as side_rank

    from lines
    where is_proration

),

line_states as (

    select
        lines.subscription_id,
        lines.subscription_item_id,
        lines.period_start as effective_at,
        lines.price_id,
        lines.quantity,
        lines.unit_amount,
        lines.currency,
        true as is_period_start,
        coalesce(discounts.discount_pct, 0) as period_discount_pct,
        lines._source_file,
        lines._source_row,
        0 as priority

    from lines
    left join discounts on lines.line_id = discounts.line_id
    where not lines.is_proration

    union all

    select
        subscription_id,
        subscription_item_id,
        period_start as effective_at,
        price_id,
        quantity,
        unit_amount,
        currency,
        false as is_period_start,
        null as period_discount_pct,
        _source_file,
        _source_row,
        1 as priority

    from prorations
    where side_rank = 1 and amount >= 0

),

-- a period line and a proration at one instant: the period line states the period
one_per_instant as (

    select * from (
        select
            *,
            row_number() over (
                partition by subscription_item_id, effective_at order by priority
            ) as instant_rank
        from line_states
    ) as ranked
    where instant_rank = 1

),

latest_lines as (

    select * from (
        select
            *,
            row_number() over (
                partition by subscription_item_id order by effective_at desc
            ) as line_rank
        from one_per_instant
    ) as ranked
    where line_rank = 1

),

unbilled_changes as (

    select
        items.subscription_id,
        items.subscription_item_id,
        items.observed_at as effective_at,
        items.price_id,
        items.quantity,
        prices.unit_amount,
        prices.currency,
        false as is_period_start,
        cast(null as decimal(18, 4)) as period_discount_pct,
        items._source_file,
        items._source_row

    from items
    inner join prices on items.price_id = prices.price_id
    left join latest_lines on items.subscription_item_id = latest_lines.subscription_item_id
    where
        prices.usage_type <> 'metered'
        and (
            latest_lines.subscription_item_id is null
            or (
                (items.price_id <> latest_lines.price_id or items.quantity <> latest_lines.quantity)
                and items.observed_at > latest_lines.effective_at
            )
        )

),

-- Stripe writes no row when an item leaves a subscription: the subscription_item table holds
-- only the items still on it, and the removal's "Unused time" credit is no state (amount < 0).
-- The first period line of the subscription after the item's latest one, without the item, is
-- the evidence: the item billed nothing from that period's start
removals as (

    select * from (
        select
            latest_lines.subscription_id,
            latest_lines.subscription_item_id,
            later_periods.effective_at,
            latest_lines.price_id,
            latest_lines.quantity,
            latest_lines.unit_amount,
            latest_lines.currency,
            false as is_period_start,
            cast(null as decimal(18, 4)) as period_discount_pct,
            later_periods._source_file,
            later_periods._source_row,
            row_number() over (
                partition by latest_lines.subscription_item_id
                order by later_periods.effective_at, later_periods.subscription_item_id
            ) as removal_rank

        from latest_lines
        inner join one_per_instant as later_periods
            on
                latest_lines.subscription_id = later_periods.subscription_id
                and later_periods.is_period_start
                and latest_lines.effective_at < later_periods.effective_at
        left join items on latest_lines.subscription_item_id = items.subscription_item_id
        where items.subscription_item_id is null
    ) as ranked
    where removal_rank = 1

),

final as (

    select
        subscription_id,
        subscription_item_id,
        effective_at,
        price_id,
        quantity,
        unit_amount,
        currency,
        is_period_start,
        period_discount_pct,
        false as is_removal,
        _source_file,
        _source_row

    from one_per_instant

    union all

    select
        subscription_id,
        subscription_item_id,
        effective_at,
        price_id,
        quantity,
        unit_amount,
        currency,
        is_period_start,
        period_discount_pct,
        false as is_removal,
        _source_file,
        _source_row

    from unbilled_changes

    union all

    select
        subscription_id,
        subscription_item_id,
        effective_at,
        price_id,
        quantity,
        unit_amount,
        currency,
        is_period_start,
        period_discount_pct,
        true as is_removal,
        _source_file,
        _source_row

    from removals

)

select * from final
