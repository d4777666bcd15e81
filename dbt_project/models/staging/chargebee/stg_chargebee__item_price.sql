{#- Item prices in major units of their currency (seeds/currencies.csv). -#}
with

source as (

    select * from {{ source('chargebee', 'item_price') }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

final as (

    select
        source.id as item_price_id,
        source.item_id,
        coalesce(source.external_name, source.name) as price_name,
        source.item_type,
        source.pricing_model,
        cast(source.price / power(10, currencies.minor_units) as decimal(18, 4)) as unit_amount,
        upper(source.currency_code) as currency,
        source.period as interval_count,
        source.period_unit as billing_interval,
        case source.trial_period_unit
            when 'day' then source.trial_period
            when 'month' then 30 * source.trial_period
        end as trial_days,
        coalesce(source.created_at, source.updated_at) as created_at,
        source._source_file,
        source._source_row,
        {{ superseded_reason('source.id', 'resource_version', relation='source') }}
            as rejection_reason

    from source
    left join currencies on upper(source.currency_code) = currencies.currency_code

)

select * from final
