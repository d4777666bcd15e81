{#-
    Prices, or the legacy plans when no price is landed (a connection from before the Prices
    API): one shape. Legacy plans beside prices are left out, with that reason. Amounts become major units of the price's currency (seeds/currencies.csv).
-#}
with

prices as (

    select
        id,
        product_id,
        currency,
        unit_amount,
        billing_scheme,
        type,
        recurring_interval,
        recurring_interval_count,
        recurring_usage_type,
        nickname,
        created,
        metadata,
        livemode,
        _fivetran_synced,
        _source_file,
        _source_row,
        false as is_superseded_table

    from {{ source('stripe', 'price') }}

),

legacy_plans as (

    select
        id,
        product_id,
        currency,
        amount as unit_amount,
        billing_scheme,
        'recurring' as type,  -- noqa: RF04
        {{ adapter.quote('interval') }} as recurring_interval,
        interval_count as recurring_interval_count,
        usage_type as recurring_usage_type,
        nickname,
        created,
        metadata,
        livemode,
        _fivetran_synced,
        _source_file,
        _source_row,
        exists(select 1 from prices) as is_superseded_table

    from {{ source('stripe', 'plan') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

unioned as (

    select * from prices

    union all

    select * from legacy_plans

),

final as (

    select
        unioned.id as price_id,
        unioned.product_id,
        upper(unioned.currency) as currency,
        cast(
            unioned.unit_amount / power(10, currencies.minor_units) as decimal(18, 4)
        ) as unit_amount,
        unioned.billing_scheme,
        unioned.type as price_type,
        unioned.recurring_interval as billing_interval,
        unioned.recurring_interval_count as interval_count,
        coalesce(unioned.recurring_usage_type, 'licensed') as usage_type,
        unioned.nickname,
        {{ json_text('unioned.metadata', '$.tier') }} as tier,
        cast({{ json_text('unioned.metadata', '$.trial_days') }} as bigint) as trial_days,
        unioned.created as created_at,
        unioned._source_file,
        unioned._source_row,
        case
            when unioned.is_superseded_table
                then 'a legacy plan: the price table is landed, and prices are read'
            else coalesce(
                {{ superseded_reason('unioned.id', relation='unioned') }},
                case
                    when not coalesce(unioned.livemode, true)
                        then 'a test-mode object (livemode false)'
                end
            )
        end as rejection_reason

    from unioned
    left join currencies on upper(unioned.currency) = currencies.currency_code

)

select * from final
