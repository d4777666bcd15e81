with

events as (

    select * from {{ ref('stg_billing__subscription_events') }}

),

plans as (

    select * from {{ ref('int_plans__versioned') }}

),

fx as (

    select * from {{ ref('int_fx_rates__daily') }}

),

-- each event carries the full state after it; nulls take the plan version in force then
resolved as (

    select
        events.event_id,
        events.subscription_id,
        events.customer_id,
        events.event_type,
        events.status,
        events.occurred_at,
        events.plan_id,
        plans.version_number as plan_version,
        plans.product,
        plans.tier,
        plans.billing_interval,
        plans.interval_count,
        plans.monthly_factor,
        events.quantity,
        coalesce(events.unit_amount, plans.unit_amount) as unit_amount,
        coalesce(events.discount_pct, 0) as discount_pct,
        coalesce(events.currency, plans.currency) as currency,
        events.cancel_reason,
        cast(events.occurred_at as date) as state_date

    from events
    left join plans
        on
            events.plan_id = plans.plan_id
            and events.occurred_at >= plans.valid_from
            and events.occurred_at < plans.valid_to

),

priced as (

    select
        resolved.*,
        case
            when status = 'active'
                then cast(
                    unit_amount * quantity * (100 - discount_pct) / 100 * monthly_factor
                    as decimal(20, 6)
                )
            else cast(0 as decimal(20, 6))
        end as mrr_local

    from resolved

),

-- converted at the rate of the day the state began, so FX moves never show as movements
converted as (

    select
        priced.*,
        fx.rate_to_reporting,
        case
            when priced.mrr_local = 0 then cast(0 as decimal(20, 6))
            else cast(priced.mrr_local * fx.rate_to_reporting as decimal(20, 6))
        end as mrr

    from priced
    left join fx
        on priced.currency = fx.currency and priced.state_date = fx.rate_date

),

final as (

    select
        event_id,
        subscription_id,
        customer_id,
        event_type,
        status,
        plan_id,
        plan_version,
        product,
        tier,
        billing_interval,
        interval_count,
        quantity,
        unit_amount,
        discount_pct,
        currency,
        cancel_reason,
        mrr_local,
        rate_to_reporting,
        mrr,
        -- bigint on every engine (Spark's row_number() is an int)
        cast(
            row_number() over (partition by subscription_id order by occurred_at, event_id)
            as bigint
        ) as state_number,
        occurred_at as valid_from,
        lead(occurred_at) over (
            partition by subscription_id order by occurred_at, event_id
        ) as valid_to

    from converted

)

select * from final
