{#- The raw contract's payment attempts from Chargebee payment transactions. -#}
with

transactions as (

    select * from {{ ref('stg_chargebee__transaction') }}
    where rejection_reason is null and transaction_type = 'payment'

),

final as (

    select
        transaction_id as payment_id,
        invoice_id,
        customer_id,
        occurred_at as attempted_at,
        amount,
        currency,
        status,
        case when status = 'failed' then failure_reason end as failure_reason,
        _source_file,
        _source_row

    from transactions

)

select * from final
