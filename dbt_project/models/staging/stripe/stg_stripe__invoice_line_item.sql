{#-
    Invoice lines in major units. A subscription line (type subscription) bills a period of a
    subscription item at a price (whose unit amount is the price's: Stripe never changes it) and
    quantity; a proration line is what a change inside a
    period billed (the "Remaining time" line, amount >= 0, carries the new price and quantity; the
    "Unused time" credit, < 0, the old ones).
-#}
with

source as (

    select * from {{ source('stripe', 'invoice_line_item') }}

),

invoices as (

    select * from {{ ref('stg_stripe__invoice') }}
    where rejection_reason is null

),

prices as (

    select * from {{ ref('stg_stripe__price') }}
    where rejection_reason is null

),

currencies as (

    select * from {{ ref('currencies') }}

),

final as (

    select
        source.id as line_id,
        source.invoice_id,
        invoices.status as invoice_status,
        source.subscription_id,
        source.subscription_item_id,
        coalesce(source.price_id, source.plan_id) as price_id,
        coalesce(source.type, 'subscription') as line_type,
        coalesce(source.proration, false) as is_proration,
        source.quantity,
        cast(source.amount / power(10, currencies.minor_units) as decimal(18, 4)) as amount,
        -- a per-unit price's amount never changes (Stripe's prices are immutable), and a
        -- proration line's unit_amount_excluding_tax is prorated: the price states the unit
        -- amount; a tiered price's lines only their own (a proration's then understates it)
        coalesce(
            case when prices.billing_scheme = 'per_unit' then prices.unit_amount end,
            cast(
                coalesce(
                    source.unit_amount_excluding_tax,
                    source.amount / nullif(source.quantity, 0)
                ) / power(10, currencies.minor_units) as decimal(18, 4)
            )
        ) as unit_amount,
        upper(source.currency) as currency,
        source.period_start,
        source.period_end,
        prices.usage_type,
        source._source_file,
        source._source_row,
        coalesce(
            {{ superseded_reason('source.id', relation='source') }},
            case
                when not coalesce(source.livemode, true)
                    then 'a test-mode object (livemode false)'
                when invoices.invoice_id is null
                    then 'its invoice ' || source.invoice_id || ' is not landed (or quarantined)'
                when source.subscription_item_id is not null and prices.price_id is null
                    then
                        'a subscription line without a price: '
                        || coalesce(source.price_id, source.plan_id, 'none')
                        || ' is not a landed price'
            end
        ) as rejection_reason

    from source
    left join invoices on source.invoice_id = invoices.invoice_id
    left join prices on coalesce(source.price_id, source.plan_id) = prices.price_id
    left join currencies on upper(source.currency) = currencies.currency_code

)

select * from final
