{#-
    The raw contract's subscription events from Stripe (docs/sources/stripe.md): one native
    subscription per subscription item — the subscription's first item keeps the Stripe
    subscription id, a later one (an add-on) is <subscription id>/<item id> — with an event at
    every instant its state changes: a status change of the subscription
    (int_stripe__subscription_statuses) or a billed change of the item (int_stripe__item_states).
    An item removed from its subscription (an add-on dropped) is canceled from its removal.
    The state at an instant: the status then, the item's latest billed price, quantity and unit
    amount at or before it (before its first line, its first), and the discount of its latest
    period line. Each row carries the full state after it, as the raw contract says.
-#}
with

statuses as (

    select * from {{ ref('int_stripe__subscription_statuses') }}

),

item_states as (

    select * from {{ ref('int_stripe__item_states') }}

),

items as (

    select
        subscription_id,
        subscription_item_id,
        min(effective_at) as first_billed_at,
        min(case when is_removal then effective_at end) as removed_at,
        row_number() over (
            partition by subscription_id order by min(effective_at), subscription_item_id
        ) as item_number

    from item_states
    group by subscription_id, subscription_item_id

),

subscriptions as (

    select
        subscription_id,
        min(customer_id) as customer_id

    from statuses
    group by subscription_id

),

-- the instants of an item: its billed changes, and its subscription's status changes from when
-- the item exists (the first item: from the subscription's start)
instants as (

    select
        subscription_item_id,
        effective_at as changed_at,
        _source_file,
        _source_row

    from item_states

    union all

    select
        items.subscription_item_id,
        statuses.changed_at,
        cast(null as {{ dbt.type_string() }}) as _source_file,
        cast(null as bigint) as _source_row

    from statuses
    inner join items on statuses.subscription_id = items.subscription_id
    where items.item_number = 1 or statuses.changed_at >= items.first_billed_at

),

distinct_instants as (

    select
        subscription_item_id,
        changed_at,
        max(_source_file) as _source_file,
        max(_source_row) as _source_row

    from instants
    group by subscription_item_id, changed_at

),

with_status as (

    select
        distinct_instants.*,
        items.subscription_id,
        items.item_number,
        -- a removed item's native subscription ends at its removal, while its Stripe
        -- subscription goes on (no reason: Stripe records none for an item)
        case
            when items.removed_at <= distinct_instants.changed_at then 'canceled'
            else statuses.status
        end as status,
        case
            when items.removed_at <= distinct_instants.changed_at then null
            else statuses.cancel_reason
        end as cancel_reason,
        row_number() over (
            partition by distinct_instants.subscription_item_id, distinct_instants.changed_at
            order by statuses.changed_at desc
        ) as status_rank

    from distinct_instants
    inner join items on distinct_instants.subscription_item_id = items.subscription_item_id
    inner join statuses
        on
            items.subscription_id = statuses.subscription_id
            and distinct_instants.changed_at >= statuses.changed_at

),

-- the item's latest billed state at or before the instant; before its first, its first
with_item as (

    select
        with_status.*,
        item_states.price_id,
        item_states.quantity,
        item_states.unit_amount,
        item_states.currency,
        row_number() over (
            partition by with_status.subscription_item_id, with_status.changed_at
            order by
                case when item_states.effective_at <= with_status.changed_at then 0 else 1 end,
                case
                    when item_states.effective_at <= with_status.changed_at
                        then item_states.effective_at
                end desc,
                item_states.effective_at asc
        ) as item_rank

    from with_status
    inner join item_states on with_status.subscription_item_id = item_states.subscription_item_id
    where with_status.status_rank = 1

),

with_discount as (

    select
        with_item.*,
        coalesce(periods.period_discount_pct, 0) as discount_pct,
        row_number() over (
            partition by with_item.subscription_item_id, with_item.changed_at
            order by periods.effective_at desc
        ) as period_rank

    from with_item
    left join item_states as periods
        on
            with_item.subscription_item_id = periods.subscription_item_id
            and periods.is_period_start
            and with_item.changed_at >= periods.effective_at
    where with_item.item_rank = 1

),

states as (

    select
        case
            when with_discount.item_number = 1 then with_discount.subscription_id
            else with_discount.subscription_id || '/' || with_discount.subscription_item_id
        end as native_subscription_id,
        subscriptions.customer_id,
        with_discount.changed_at,
        with_discount.status,
        with_discount.price_id as plan_id,
        with_discount.quantity,
        with_discount.unit_amount,
        with_discount.discount_pct,
        with_discount.currency,
        with_discount.cancel_reason,
        coalesce(with_discount._source_file, 'stripe/subscription_history') as _source_file,
        coalesce(with_discount._source_row, 0) as _source_row

    from with_discount
    inner join subscriptions on with_discount.subscription_id = subscriptions.subscription_id
    where with_discount.period_rank = 1

),

final as (

    {{ native_subscription_events('states') }}

)

select * from final
