with

source as (

    select * from {{ source('stripe', 'invoice') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

final as (

    select
        source.id as invoice_id,
        source.customer_id,
        source.subscription_id,
        source.status,
        source.billing_reason,
        source.created as created_at,
        upper(source.currency) as currency,
        {% for amount in ['subtotal', 'tax', 'total'] %}
            cast(
                source.{{ amount }} / power(10, currencies.minor_units) as decimal(18, 4)
            ) as {{ amount }},
        {% endfor %}
        coalesce(
            source.status_transitions_paid_at,
            source.status_transitions_voided_at,
            source.status_transitions_marked_uncollectible_at,
            source.status_transitions_finalized_at,
            source.created
        ) as updated_at,
        source._source_file,
        source._source_row,
        coalesce(
            {{ superseded_reason('source.id', relation='source') }},
            case
                when not coalesce(source.livemode, true)
                    then 'a test-mode object (livemode false)'
                when coalesce(source.is_deleted, false) then 'deleted in Stripe (a draft)'
                when source.total > source.subtotal + coalesce(source.tax, 0)
                    then 'total is more than subtotal + tax: no discount explains it'
            end
        ) as rejection_reason

    from source
    left join currencies on upper(source.currency) = currencies.currency_code

)

select * from final
