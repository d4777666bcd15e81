{#-
    The raw contract's invoices from Stripe invoices: the billing period is the span of its
    subscription lines (period_end the day before the exclusive end), discount_amount = subtotal +
    tax - total (what coupons took), amounts in major units. A credit (a negative total: a
    proration that lowered the price) bills nothing, so it is no invoice of the raw contract;
    its lines still state the change (int_stripe__item_states).
-#}
with

invoices as (

    select * from {{ ref('stg_stripe__invoice') }}
    where rejection_reason is null and total >= 0

),

lines as (

    select * from {{ ref('stg_stripe__invoice_line_item') }}
    where rejection_reason is null and line_type = 'subscription' and not is_proration

),

periods as (

    select
        invoice_id,
        min(period_start) as period_start,
        max(period_end) as period_end

    from lines
    group by invoice_id

),

final as (

    select
        invoices.invoice_id,
        invoices.customer_id,
        invoices.subscription_id,
        invoices.created_at as issued_at,
        cast(periods.period_start as date) as period_start,
        cast({{ dbt.dateadd('second', -1, 'periods.period_end') }} as date) as period_end,
        invoices.subtotal,
        invoices.subtotal + coalesce(invoices.tax, 0) - invoices.total as discount_amount,
        coalesce(invoices.tax, 0) as tax_amount,
        invoices.total,
        invoices.currency,
        invoices.status,
        invoices.updated_at,
        invoices._source_file,
        invoices._source_row

    from invoices
    left join periods on invoices.invoice_id = periods.invoice_id

)

select * from final
