{#-
    Coupons applied to subscriptions: the discount table (connections since December 2023) and
    the older subscription_discount table, one row per discount id. A discount deleted in Stripe
    before its end (Fivetran's _fivetran_deleted) ends when the connector saw it deleted.
-#}
with

discounts as (

    select
        id,
        coupon_id,
        customer_id,
        subscription_id,
        {{ adapter.quote('start') }} as starts_at,
        case
            when coalesce(_fivetran_deleted, false)
                then least(coalesce({{ adapter.quote('end') }}, _fivetran_synced), _fivetran_synced)
            else {{ adapter.quote('end') }}
        end as ends_at,
        _fivetran_synced,
        _source_file,
        _source_row

    from {{ source('stripe', 'discount') }}

),

older as (

    select
        id,
        coupon_id,
        customer_id,
        subscription_id,
        {{ adapter.quote('start') }} as starts_at,
        {{ adapter.quote('end') }} as ends_at,
        _fivetran_synced,
        _source_file,
        _source_row

    from {{ source('stripe', 'subscription_discount') }}

),

unioned as (

    select * from discounts

    union all

    select * from older

),

final as (

    select
        id as discount_id,
        coupon_id,
        customer_id,
        subscription_id,
        starts_at,
        ends_at,
        _source_file,
        _source_row,
        coalesce(
            {{ superseded_reason('id') }},
            case
                when subscription_id is null
                    then
                        'a discount of a customer or an invoice, not of a subscription: '
                        || 'the invoices it discounted show it, MRR does not'
            end
        ) as rejection_reason

    from unioned

)

select * from final
