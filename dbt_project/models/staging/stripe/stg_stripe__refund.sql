with

source as (

    select * from {{ source('stripe', 'refund') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

charges as (

    select * from {{ ref('stg_stripe__charge') }}
    where rejection_reason is null

),

final as (

    select
        source.id as refund_id,
        source.charge_id,
        source.payment_intent_id,
        cast(source.amount / power(10, currencies.minor_units) as decimal(18, 4)) as amount,
        upper(source.currency) as currency,
        source.reason,
        source.created as created_at,
        source._source_file,
        source._source_row,
        coalesce(
            {{ superseded_reason('source.id', relation='source') }},
            case
                when coalesce(source.status, 'succeeded') <> 'succeeded'
                    then 'a ' || source.status || ' refund: only succeeded refunds returned money'
                -- two equalities, not one `or`: an `or` made every refund scan every charge
                -- (64 s at 100k customers)
                when
                    not exists (
                        select 1 from charges
                        where charges.charge_id = source.charge_id
                    )
                    and not exists (
                        select 1 from charges
                        where charges.payment_intent_id = source.payment_intent_id
                    )
                    then 'the refunded charge is not landed (or quarantined)'
            end
        ) as rejection_reason

    from source
    left join currencies on upper(source.currency) = currencies.currency_code

)

select * from final
