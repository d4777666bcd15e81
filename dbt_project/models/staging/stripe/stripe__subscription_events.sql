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
{% set text = dbt.type_string() %}

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

-- numbered in time, so that "the latest at or before an instant" is a running maximum: one scan
-- per item, where joining every instant to every earlier state grew with the square of them
-- (100k customers: 39 s for this model alone). Each is then looked up by one key column: joined
-- on the item and a number, the two lookups of item states shared the item column, and DuckDB
-- could join them to each other first (a weekly item's 100 states cubed)
numbered_states as (

    select
        *,
        row_number() over (
            partition by subscription_item_id
            order by effective_at, _source_file, _source_row
        ) as state_number

    from item_states

),

keyed_states as (

    select
        *,
        subscription_item_id || '#' || cast(state_number as {{ text }}) as state_key

    from numbered_states

),

numbered_statuses as (

    select
        *,
        row_number() over (partition by subscription_id order by changed_at) as status_number

    from statuses

),

keyed_statuses as (

    select
        *,
        subscription_id || '#' || cast(status_number as {{ text }}) as status_key

    from numbered_statuses

),

-- an item's timeline: its billed changes, and every status change of its subscription; the
-- instants of its native subscription are its billed changes and its subscription's status
-- changes from when the item exists (the first item: from the subscription's start)
timeline as (

    select
        subscription_item_id,
        effective_at as changed_at,
        state_number,
        case when is_period_start then state_number end as period_number,
        cast(null as bigint) as status_number,
        1 as is_instant,
        _source_file,
        _source_row

    from numbered_states

    union all

    select
        items.subscription_item_id,
        numbered_statuses.changed_at,
        cast(null as bigint) as state_number,
        cast(null as bigint) as period_number,
        numbered_statuses.status_number,
        case
            when
                items.item_number = 1 or numbered_statuses.changed_at >= items.first_billed_at
                then 1
            else 0
        end as is_instant,
        cast(null as {{ text }}) as _source_file,
        cast(null as bigint) as _source_row

    from numbered_statuses
    inner join items on numbered_statuses.subscription_id = items.subscription_id

),

per_instant as (

    select
        subscription_item_id,
        changed_at,
        max(state_number) as state_number,
        max(period_number) as period_number,
        max(status_number) as status_number,
        max(is_instant) as is_instant,
        max(_source_file) as _source_file,
        max(_source_row) as _source_row

    from timeline
    group by subscription_item_id, changed_at

),

carried as (

    select
        subscription_item_id,
        changed_at,
        is_instant,
        _source_file,
        _source_row,
        -- before the item's first billed state, its first
        subscription_item_id || '#' || cast(
            coalesce(
                max(state_number) over (
                    partition by subscription_item_id order by changed_at
                    rows between unbounded preceding and current row
                ),
                1
            ) as {{ text }}
        ) as billed_state_key,
        subscription_item_id || '#' || cast(
            max(period_number) over (
                partition by subscription_item_id order by changed_at
                rows between unbounded preceding and current row
            ) as {{ text }}
        ) as period_state_key,
        max(status_number) over (
            partition by subscription_item_id order by changed_at
            rows between unbounded preceding and current row
        ) as latest_status_number

    from per_instant

),

-- at each instant: the subscription's status then (none yet: no instant), the item's latest
-- billed state (before its first, its first) and the discount of its latest period line
with_discount as (

    select
        carried.subscription_item_id,
        carried.changed_at,
        carried._source_file,
        carried._source_row,
        items.subscription_id,
        items.item_number,
        -- a removed item's native subscription ends at its removal, while its Stripe
        -- subscription goes on (no reason: Stripe records none for an item)
        case
            when items.removed_at <= carried.changed_at then 'canceled'
            else keyed_statuses.status
        end as status,
        case
            when items.removed_at <= carried.changed_at then null
            else keyed_statuses.cancel_reason
        end as cancel_reason,
        billed.price_id,
        billed.quantity,
        billed.unit_amount,
        billed.currency,
        coalesce(periods.period_discount_pct, 0) as discount_pct

    from carried
    inner join items on carried.subscription_item_id = items.subscription_item_id
    inner join keyed_statuses
        on
            keyed_statuses.status_key
            = items.subscription_id || '#' || cast(carried.latest_status_number as {{ text }})
    inner join keyed_states as billed on carried.billed_state_key = billed.state_key
    left join keyed_states as periods on carried.period_state_key = periods.state_key
    where carried.is_instant = 1

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

),

final as (

    {{ native_subscription_events('states') }}

)

select * from final
