with

periods as (

    select * from {{ ref('int_subscriptions__state_periods') }}

),

final as (

    select
        subscription_id,
        customer_id,
        event_id,
        state_number,
        status,
        plan_id,
        tier,
        billing_interval,
        interval_count,
        quantity,
        cast(unit_amount as decimal(18, 4)) as unit_amount,
        discount_pct,
        currency,
        cast(mrr_local as decimal(18, 4)) as monthly_amount_local,
        {{ money('mrr') }} as mrr,
        valid_from,
        valid_to,
        valid_to is null as is_current

    from periods

)

select * from final
