with

source as (

    select * from {{ source('stripe', 'coupon') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

final as (

    select
        source.id as coupon_id,
        source.name as coupon_name,
        source.percent_off,
        cast(
            source.amount_off / power(10, coalesce(currencies.minor_units, 2)) as decimal(18, 4)
        ) as amount_off,
        upper(source.currency) as currency,
        source.duration,
        source.duration_in_months,
        source._source_file,
        source._source_row,
        coalesce(
            {{ superseded_reason('source.id', relation='source') }},
            case
                when not coalesce(source.livemode, true)
                    then 'a test-mode object (livemode false)'
            end
        ) as rejection_reason

    from source
    left join currencies on upper(source.currency) = currencies.currency_code

)

select * from final
