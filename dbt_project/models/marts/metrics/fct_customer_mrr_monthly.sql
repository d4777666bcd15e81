with

customer_mrr as (

    select * from {{ ref('int_customers__mrr_monthly') }}

),

month_end as (

    select * from {{ ref('int_subscriptions__month_end') }}

),

periods as (

    select * from {{ ref('int_subscriptions__state_periods') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

as_of as (

    {{ as_of_month() }}

),

compared as (

    {{ compare_month_ends('customer_mrr', ['customer_id']) }}

),

-- the cancel, inside the month, of a subscription that was paying at the end of the month before
cancels as (

    select
        paying.customer_id,
        months.month_start,
        periods.cancel_reason,
        row_number() over (
            partition by paying.customer_id, months.month_start
            order by periods.valid_from desc, periods.event_id desc
        ) as recency

    from month_end as paying
    inner join months on paying.month_start = months.previous_month_start
    inner join periods
        on
            paying.subscription_id = periods.subscription_id
            and periods.event_type = 'canceled'
            and cast(months.month_start as timestamp) <= periods.valid_from
            and months.next_month_start_at > periods.valid_from
    where paying.mrr > 0

),

last_cancel as (

    select * from cancels
    where recency = 1

),

classified as (

    select
        compared.customer_id,
        compared.month_start,
        compared.mrr,
        compared.mrr_previous,
        compared.mrr - compared.mrr_previous as mrr_change,
        {{ mrr_movement(
            'compared.mrr_previous', 'compared.mrr',
            'compared.month_start', 'compared.first_paid_month'
        ) }} as movement,
        last_cancel.cancel_reason,
        last_cancel.customer_id is not null as has_cancel

    from compared
    left join last_cancel
        on
            compared.customer_id = last_cancel.customer_id
            and compared.month_start = last_cancel.month_start

),

final as (

    select
        customer_id,
        month_start,
        {{ money('mrr') }} as mrr,
        {{ money('mrr_previous') }} as mrr_previous,
        {{ money('mrr_change') }} as mrr_change,
        movement,
        case
            when movement = 'churn' and cancel_reason = 'payment_failed' then 'involuntary'
            when movement = 'churn' then 'voluntary'
        end as churn_type,
        case
            when movement = 'churn' and has_cancel then coalesce(cancel_reason, 'unspecified')
            when movement = 'churn' then 'not_canceled'
        end as churn_reason

    from classified

)

select * from final
