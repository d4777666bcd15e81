with

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

fx as (

    select * from {{ ref('int_fx_rates__daily') }}

),

payment_summary as (

    select
        invoice_id,
        count(*) as payment_attempts,
        count(case when status = 'failed' then 1 end) as failed_payment_attempts,
        min(case when status = 'succeeded' then attempted_at end) as first_paid_at

    from payments
    where invoice_id is not null
    group by invoice_id

),

final as (

    select
        invoices.invoice_id,
        invoices.customer_id,
        invoices.subscription_id,
        invoices.issued_at,
        {{ month_start('invoices.issued_at') }} as issued_month,
        invoices.period_start,
        invoices.period_end,
        invoices.status,
        invoices.currency,
        -- amounts in the invoice's own currency keep the raw scale (3-decimal currencies)
        cast(invoices.subtotal as decimal(18, 4)) as subtotal,
        cast(invoices.discount_amount as decimal(18, 4)) as discount_amount,
        cast(invoices.tax_amount as decimal(18, 4)) as tax_amount,
        cast(invoices.total as decimal(18, 4)) as total,
        -- at the rate of the issue date; null when that currency has no rate yet
        {{ money('invoices.total * fx.rate_to_reporting') }} as total_reporting,
        invoices.subscription_id is null as is_one_off,
        coalesce(payment_summary.payment_attempts, 0) as payment_attempts,
        coalesce(payment_summary.failed_payment_attempts, 0) as failed_payment_attempts,
        payment_summary.first_paid_at,
        -- a paid invoice with no succeeded payment (a zero total, or settled outside the landed
        -- payments) was paid when issued
        coalesce(
            payment_summary.first_paid_at,
            case when invoices.status = 'paid' then invoices.issued_at end
        ) as paid_at,
        -- bigint on every engine (Spark's datediff() is an int)
        cast(
            {{ dbt.datediff('invoices.issued_at', 'payment_summary.first_paid_at', 'day') }}
            as bigint
        ) as days_to_pay,
        invoices.updated_at

    from invoices
    left join payment_summary on invoices.invoice_id = payment_summary.invoice_id
    left join fx
        on invoices.currency = fx.currency and cast(invoices.issued_at as date) = fx.rate_date

)

select * from final
