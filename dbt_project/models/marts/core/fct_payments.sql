with

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

fx as (

    select * from {{ ref('int_fx_rates__daily') }}

),

numbered as (

    select
        payments.*,
        -- a payment not tied to an invoice is its own first attempt
        case
            when payments.invoice_id is null then 1
            -- bigint on every engine (Spark's row_number() is an int)
            else cast(
                row_number() over (
                    partition by payments.invoice_id
                    order by payments.attempted_at, payments.payment_id
                ) as bigint
            )
        end as attempt_number

    from payments

),

final as (

    select
        numbered.payment_id,
        numbered.invoice_id,
        numbered.customer_id,
        numbered.attempted_at,
        {{ month_start('numbered.attempted_at') }} as attempted_month,
        numbered.status,
        numbered.failure_reason,
        numbered.status = 'succeeded' as is_succeeded,
        numbered.attempt_number,
        numbered.attempt_number > 1 as is_dunning_retry,
        numbered.currency,
        cast(numbered.amount as decimal(18, 4)) as amount,
        -- at the rate of the attempt date; null when that currency has no rate yet
        {{ money('numbered.amount * fx.rate_to_reporting') }} as amount_reporting

    from numbered
    left join fx
        on
            numbered.currency = fx.currency
            and cast(numbered.attempted_at as date) = fx.rate_date

)

select * from final
