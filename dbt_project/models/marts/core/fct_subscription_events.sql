with

periods as (

    select * from {{ ref('int_subscriptions__state_periods') }}

),

events as (

    select * from {{ ref('stg_billing__subscription_events') }}

),

joined as (

    select
        periods.event_id,
        periods.subscription_id,
        periods.customer_id,
        periods.event_type,
        periods.status,
        events.occurred_at,
        periods.state_number,
        periods.plan_id,
        periods.plan_version,
        periods.quantity,
        periods.unit_amount,
        periods.discount_pct,
        periods.currency,
        periods.cancel_reason,
        periods.mrr_local,
        {{ money('periods.mrr') }} as mrr,
        events.delivery_count,
        events.has_conflicting_copies

    from periods
    inner join events on periods.event_id = events.event_id

),

-- the change against the state before the event (0 before the subscription's first event),
-- on cent-rounded MRR so that the changes of a subscription add up to its current MRR
changes as (

    select
        joined.*,
        coalesce(
            lag(mrr) over (partition by subscription_id order by state_number),
            0
        ) as mrr_previous_state

    from joined

),

final as (

    select
        event_id,
        subscription_id,
        customer_id,
        event_type,
        status,
        occurred_at,
        {{ month_start('occurred_at') }} as event_month,
        plan_id,
        plan_version,
        quantity,
        cast(unit_amount as decimal(18, 4)) as unit_amount,
        discount_pct,
        currency,
        cancel_reason,
        cast(mrr_local as decimal(18, 4)) as mrr_local,
        mrr,
        {{ money('mrr - mrr_previous_state') }} as mrr_change_from_previous_state,
        delivery_count,
        has_conflicting_copies

    from changes

)

select * from final
