with

customers as (

    select * from {{ ref('stg_billing__customers') }}

),

payments as (

    select * from {{ ref('stg_billing__payments') }}

),

refunds as (

    select * from {{ ref('stg_billing__refunds') }}

),

fx as (

    select * from {{ ref('int_fx_rates__daily') }}

),

customer_mrr as (

    select * from {{ ref('int_customers__mrr_monthly') }}

),

metrics as (

    select * from {{ ref('subscription_metrics_monthly') }}

),

as_of as (

    select max(month_start) as as_of_month from metrics

),

as_of_metrics as (

    select metrics.*

    from metrics
    inner join as_of on metrics.month_start = as_of.as_of_month

),

-- each amount converted at its own date's rate (metric contract, historical CLV)
collected as (

    select
        payments.customer_id,
        payments.amount * fx.rate_to_reporting as amount,
        0 as refunded

    from payments
    left join fx
        on payments.currency = fx.currency and cast(payments.attempted_at as date) = fx.rate_date
    where payments.status = 'succeeded'

    union all

    select
        refunds.customer_id,
        0 as amount,
        refunds.amount * fx.rate_to_reporting as refunded

    from refunds
    left join fx
        on refunds.currency = fx.currency and cast(refunds.refunded_at as date) = fx.rate_date

),

revenue as (

    select
        customer_id,
        cast(sum(amount) as decimal(18, 2)) as payments_collected,
        cast(sum(refunded) as decimal(18, 2)) as refunds_paid

    from collected
    group by customer_id

),

cohorts as (

    select
        customer_id,
        min(month_start) as cohort_month

    from customer_mrr
    group by customer_id

),

final as (

    select
        customers.customer_id,
        cohorts.cohort_month,
        {{ money('coalesce(current_mrr.mrr, 0)') }} as current_mrr,
        coalesce(current_mrr.mrr, 0) > 0 as is_paying,
        {{ money('coalesce(revenue.payments_collected, 0)') }} as payments_collected,
        {{ money('coalesce(revenue.refunds_paid, 0)') }} as refunds_paid,
        {{ money('coalesce(revenue.payments_collected, 0) - coalesce(revenue.refunds_paid, 0)') }}
            as historical_net_revenue,
        as_of_metrics.expected_lifetime_months,
        {{ money_from_double(
            'coalesce(current_mrr.mrr, 0) * ' ~ var('gross_margin')
            ~ ' * as_of_metrics.expected_lifetime_months'
        ) }} as formula_clv,
        as_of_metrics.formula_ltv as company_formula_ltv

    from customers
    -- every customer has a row, also before anyone has paid (no metrics month yet)
    left join as_of_metrics on 1 = 1
    left join cohorts on customers.customer_id = cohorts.customer_id
    left join revenue on customers.customer_id = revenue.customer_id
    left join customer_mrr as current_mrr
        on
            customers.customer_id = current_mrr.customer_id
            and as_of_metrics.month_start = current_mrr.month_start

)

select * from final
