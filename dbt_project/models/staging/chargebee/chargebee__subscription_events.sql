{#-
    The raw contract's subscription events from Chargebee's event log (docs/sources/
    chargebee.md): one native subscription per subscription item — the plan item keeps the
    subscription's id (a plan change is the same item), an add-on is <subscription id>/<item
    price id> — with the state each event left it in. An item missing from a later event of its
    subscription was removed then: it is canceled at that event. Reactivations keep the id, as
    Chargebee does.
-#}
with

item_states as (

    select * from {{ ref('int_chargebee__item_states') }}

),

subscription_events as (

    select distinct
        subscription_id,
        customer_id,
        changed_at,
        resource_version,
        _source_file,
        _source_row

    from item_states

),

latest_states as (

    select * from (
        select
            *,
            row_number() over (
                partition by native_subscription_id order by changed_at desc, resource_version desc
            ) as state_rank
        from item_states
    ) as ranked
    where state_rank = 1

),

last_seen as (

    select
        native_subscription_id,
        subscription_id,
        changed_at as last_seen_at

    from latest_states

),

removals as (

    select
        last_seen.native_subscription_id,
        min(subscription_events.changed_at) as removed_at

    from last_seen
    inner join subscription_events
        on
            last_seen.subscription_id = subscription_events.subscription_id
            and last_seen.last_seen_at < subscription_events.changed_at
    group by last_seen.native_subscription_id

),

removed_states as (

    select
        item_states.native_subscription_id,
        item_states.customer_id,
        removals.removed_at as changed_at,
        item_states.resource_version + 1 as resource_version,
        'canceled' as status,
        'other' as cancel_reason,
        item_states.plan_id,
        item_states.quantity,
        item_states.unit_amount,
        item_states.discount_pct,
        item_states.currency,
        item_states._source_file,
        item_states._source_row

    from removals
    inner join latest_states as item_states
        on removals.native_subscription_id = item_states.native_subscription_id

),

all_states as (

    select
        native_subscription_id,
        customer_id,
        changed_at,
        resource_version,
        status,
        cancel_reason,
        plan_id,
        quantity,
        unit_amount,
        discount_pct,
        currency,
        _source_file,
        _source_row

    from item_states

    union all

    select * from removed_states

),

-- two events at one instant: the later (by resource_version) states the result
states as (

    select * from (
        select
            *,
            row_number() over (
                partition by native_subscription_id, changed_at
                order by resource_version desc
            ) as instant_rank
        from all_states
    ) as ranked
    where instant_rank = 1

),

final as (

    {{ native_subscription_events('states') }}

)

select * from final
