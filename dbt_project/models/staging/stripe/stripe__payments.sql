{#- The raw contract's payment attempts from Stripe charges (succeeded or failed). -#}
with

charges as (

    select * from {{ ref('stg_stripe__charge') }}
    where rejection_reason is null

),

invoices as (

    select * from {{ ref('stg_stripe__invoice') }}

),

final as (

    select
        charges.charge_id as payment_id,
        charges.invoice_id,
        coalesce(charges.customer_id, invoices.customer_id) as customer_id,
        charges.created_at as attempted_at,
        charges.amount,
        charges.currency,
        charges.status,
        charges.failure_reason,
        charges._source_file,
        charges._source_row

    from charges
    left join invoices on charges.invoice_id = invoices.invoice_id

)

select * from final
