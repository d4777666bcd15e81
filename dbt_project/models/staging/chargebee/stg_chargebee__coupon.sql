with

source as (

    select * from {{ source('chargebee', 'coupon') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

final as (

    select
        source.id as coupon_id,
        source.discount_type,
        source.discount_percentage,
        cast(
            source.discount_amount / power(10, coalesce(currencies.minor_units, 2))
            as decimal(18, 4)
        ) as discount_amount,
        source.duration_type,
        source._source_file,
        source._source_row,
        {{ superseded_reason('source.id', 'resource_version', relation='source') }}
            as rejection_reason

    from source
    left join currencies on upper(source.currency_code) = currencies.currency_code

)

select * from final
