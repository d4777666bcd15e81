{#- The raw contract's refunds from Stripe refunds (succeeded), of the charge they returned. -#}
with

refunds as (

    select * from {{ ref('stg_stripe__refund') }}
    where rejection_reason is null

),

charges as (

    select * from {{ ref('stg_stripe__charge') }}
    where rejection_reason is null

),

-- a refund that names only its payment intent returns that intent's succeeded charge
intent_charges as (

    select
        payment_intent_id,
        max(charge_id) as charge_id

    from charges
    where status = 'succeeded' and payment_intent_id is not null
    group by payment_intent_id

),

final as (

    select
        refunds.refund_id,
        coalesce(refunds.charge_id, intent_charges.charge_id) as payment_id,
        charges.customer_id,
        refunds.created_at as refunded_at,
        refunds.amount,
        refunds.currency,
        refunds.reason,
        refunds._source_file,
        refunds._source_row

    from refunds
    left join intent_charges on refunds.payment_intent_id = intent_charges.payment_intent_id
    left join charges on coalesce(refunds.charge_id, intent_charges.charge_id) = charges.charge_id

)

select * from final
