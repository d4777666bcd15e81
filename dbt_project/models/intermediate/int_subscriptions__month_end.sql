with

periods as (

    select * from {{ ref('int_subscriptions__state_periods') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

as_of as (

    {{ as_of_month() }}

),

-- the state at the last instant of a month: the last event before the next month began
final as (

    select
        periods.subscription_id,
        periods.customer_id,
        months.month_start,
        periods.event_id as state_event_id,
        periods.valid_from as state_started_at,
        periods.status,
        periods.plan_id,
        periods.product,
        periods.tier,
        periods.billing_interval,
        periods.interval_count,
        periods.currency,
        periods.quantity,
        periods.discount_pct,
        periods.mrr_local,
        periods.mrr

    from periods
    inner join months
        on
            periods.valid_from < months.next_month_start_at
            and (periods.valid_to is null or periods.valid_to >= months.next_month_start_at)
    cross join as_of
    where months.month_start <= as_of.as_of_month

)

select * from final
