{#- Payments and refunds, in major units; authorizations and reversals are no payment attempts. -#}
with

source as (

    select * from {{ source('chargebee', 'transaction') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

final as (

    select
        source.id as transaction_id,
        source.type as transaction_type,
        source.customer_id,
        source.subscription_id,
        {{ json_text('source.linked_invoices', '$[0].invoice_id') }} as invoice_id,
        source.refunded_txn_id,
        case source.status when 'success' then 'succeeded' else 'failed' end as status,
        coalesce(source.error_code, source.error_text) as failure_reason,
        cast(source.amount / power(10, currencies.minor_units) as decimal(18, 4)) as amount,
        upper(source.currency_code) as currency,
        source.date as occurred_at,
        source._source_file,
        source._source_row,
        coalesce(
            {{ superseded_reason('source.id', 'resource_version', relation='source') }},
            case
                when coalesce(source.deleted, false) then 'deleted in Chargebee'
                when source.type not in ('payment', 'refund')
                    then 'a ' || source.type || ' transaction: not a payment or refund'
                when source.status not in ('success', 'failure', 'timeout', 'late_failure')
                    then
                        'a ' || coalesce(source.status, 'status-less')
                        || ' transaction: not final'
                when source.type = 'refund' and source.status <> 'success'
                    then 'a refund that did not succeed'
                when coalesce(source.amount, 0) <= 0 then 'a transaction of no amount'
            end
        ) as rejection_reason

    from source
    left join currencies on upper(source.currency_code) = currencies.currency_code

)

select * from final
