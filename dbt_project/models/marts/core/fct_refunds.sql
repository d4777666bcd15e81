with

refunds as (

    select * from {{ ref('stg_billing__refunds') }}

),

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

fx as (

    select * from {{ ref('int_fx_rates__daily') }}

),

final as (

    select
        refunds.refund_id,
        refunds.payment_id,
        payments.invoice_id,
        refunds.customer_id,
        refunds.refunded_at,
        {{ month_start('refunds.refunded_at') }} as refunded_month,
        refunds.reason,
        refunds.currency,
        cast(refunds.amount as decimal(18, 4)) as amount,
        -- at the rate of the refund date; null when that currency has no rate yet
        {{ money('refunds.amount * fx.rate_to_reporting') }} as amount_reporting

    from refunds
    left join payments on refunds.payment_id = payments.payment_id
    left join fx
        on refunds.currency = fx.currency and cast(refunds.refunded_at as date) = fx.rate_date

)

select * from final
