{#-
    The one-off purchase model's transactions (docs/metrics.md, one-off purchases): each paid
    invoice without a subscription (add-ons, top-ups, overage, or a shop's orders) at the instant
    it was paid, in the reporting currency, with the end of the calibration period: the latest
    billing record (int_as_of), not the subscriptions' as-of, so a business without
    subscriptions gets the model too.
-#}
with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

as_of as (

    select purchases_as_of_at from {{ ref('int_as_of') }}

),

final as (

    select
        invoices.customer_id,
        invoices.invoice_id,
        invoices.paid_at as purchased_at,
        invoices.total_reporting as amount,
        as_of.purchases_as_of_at as calibration_end_at

    from invoices
    cross join as_of
    where invoices.is_one_off and invoices.status = 'paid'

)

select * from final
