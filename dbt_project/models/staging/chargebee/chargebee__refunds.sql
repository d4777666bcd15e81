{#- The raw contract's refunds from Chargebee refund transactions, of the payment refunded. -#}
with

transactions as (

    select * from {{ ref('stg_chargebee__transaction') }}
    where rejection_reason is null

),

final as (

    select
        refunds.transaction_id as refund_id,
        refunds.refunded_txn_id as payment_id,
        coalesce(refunds.customer_id, payments.customer_id) as customer_id,
        refunds.occurred_at as refunded_at,
        refunds.amount,
        refunds.currency,
        cast(null as {{ dbt.type_string() }}) as reason,
        refunds._source_file,
        refunds._source_row

    from transactions as refunds
    left join transactions as payments on refunds.refunded_txn_id = payments.transaction_id
    where refunds.transaction_type = 'refund'

)

select * from final
