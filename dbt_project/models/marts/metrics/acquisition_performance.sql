with

customers as (

    select * from {{ ref('stg_billing__customers') }}

),

campaigns as (

    select * from {{ ref('stg_marketing__campaigns') }}

),

fx as (

    select * from {{ ref('int_fx_rates__daily') }}

),

clv as (

    select * from {{ ref('customer_lifetime_value') }}

),

channel_ltv as (

    select * from {{ ref('int_channels__formula_ltv') }}

),

acquired as (

    select
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
        coalesce(customers.acquisition_campaign_id, 'none') as acquisition_campaign_id,
        count(*) as customers_acquired,
        count(clv.cohort_month) as paying_customers,
        sum(case when clv.cohort_month is not null then clv.historical_net_revenue end)
            as paying_customers_net_revenue,
        max(clv.company_formula_ltv) as formula_ltv

    from customers
    inner join clv on customers.customer_id = clv.customer_id
    group by 1, 2

),

-- spend converted at the rate of the campaign's start date
spend as (

    select
        campaigns.campaign_id,
        campaigns.name as campaign_name,
        campaigns.channel as campaign_channel,
        campaigns.spend * fx.rate_to_reporting as spend

    from campaigns
    left join fx
        on campaigns.currency = fx.currency and cast(campaigns.started_at as date) = fx.rate_date

),

final as (

    select
        acquired.acquisition_channel,
        acquired.acquisition_campaign_id,
        spend.campaign_name,
        acquired.customers_acquired,
        acquired.paying_customers,
        cast(coalesce(spend.spend, 0) as decimal(18, 2)) as spend,
        {{ safe_divide('spend.spend', 'acquired.paying_customers') }} as cac,
        {{ safe_divide('acquired.paying_customers_net_revenue', 'acquired.paying_customers') }}
            as avg_historical_net_revenue,
        acquired.formula_ltv,
        channel_ltv.formula_ltv as channel_formula_ltv,
        {{ safe_divide('channel_ltv.formula_ltv * acquired.paying_customers', 'spend.spend') }}
            as ltv_to_cac,
        {{ safe_divide('acquired.paying_customers_net_revenue', 'spend.spend') }}
            as historical_ltv_to_cac

    from acquired
    left join spend on acquired.acquisition_campaign_id = spend.campaign_id
    left join channel_ltv on acquired.acquisition_channel = channel_ltv.acquisition_channel

)

select * from final
