with

source as (

    select * from {{ source('stripe', 'charge') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

final as (

    select
        source.id as charge_id,
        source.customer_id,
        source.invoice_id,
        source.payment_intent_id,
        cast(source.amount / power(10, currencies.minor_units) as decimal(18, 4)) as amount,
        upper(source.currency) as currency,
        source.status,
        coalesce(source.failure_code, source.failure_message) as failure_reason,
        source.created as created_at,
        source._source_file,
        source._source_row,
        coalesce(
            {{ superseded_reason('source.id', relation='source') }},
            case
                when not coalesce(source.livemode, true)
                    then 'a test-mode object (livemode false)'
                when coalesce(source.amount, 0) <= 0 then 'a charge of no amount'
                when source.status not in ('succeeded', 'failed')
                    then
                        'a ' || coalesce(source.status, 'status-less')
                        || ' charge: only succeeded and failed charges are payment attempts'
            end
        ) as rejection_reason

    from source
    left join currencies on upper(source.currency) = currencies.currency_code

)

select * from final
