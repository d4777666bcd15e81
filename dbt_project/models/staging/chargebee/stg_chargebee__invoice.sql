{#- Invoices in major units, in the raw contract's statuses; the billed period from its lines. -#}
with

source as (

    select * from {{ source('chargebee', 'invoice') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

final as (

    select
        source.id as invoice_id,
        source.customer_id,
        source.subscription_id,
        case source.status
            when 'paid' then 'paid'
            when 'posted' then 'open'
            when 'payment_due' then 'open'
            when 'not_paid' then 'uncollectible'
            when 'voided' then 'void'
            when 'pending' then 'draft'
        end as status,
        source.date as issued_at,
        {{ epoch_to_timestamp(json_text('source.line_items', '$[0].date_from')) }} as period_from,
        {{ epoch_to_timestamp(json_text('source.line_items', '$[0].date_to')) }} as period_to,
        upper(source.currency_code) as currency,
        {% for amount in ['sub_total', 'tax', 'total'] %}
            cast(
                coalesce(source.{{ amount }}, 0) / power(10, currencies.minor_units)
                as decimal(18, 4)
            ) as {{ amount }},
        {% endfor %}
        coalesce(source.updated_at, source.paid_at, source.voided_at, source.date) as updated_at,
        source._source_file,
        source._source_row,
        coalesce(
            {{ superseded_reason('source.id', 'resource_version', relation='source') }},
            case
                when coalesce(source.deleted, false) then 'deleted in Chargebee'
                when source.status not in (
                    'paid', 'posted', 'payment_due', 'not_paid', 'voided', 'pending'
                ) then 'an unknown invoice status: ' || source.status
                when source.total > source.sub_total + coalesce(source.tax, 0)
                    then 'total is more than sub_total + tax: no discount explains it'
            end
        ) as rejection_reason

    from source
    left join currencies on upper(source.currency_code) = currencies.currency_code

)

select * from final
