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

movements as (

    select * from {{ ref('fct_customer_mrr_monthly') }}

),

metric_months as (

    select * from {{ ref('subscription_metrics_monthly') }}

),

-- campaigns with spend, converted at the rate of their start date as acquisition_performance does
spending_campaigns as (

    select campaigns.campaign_id

    from campaigns
    left join fx
        on campaigns.currency = fx.currency and cast(campaigns.started_at as date) = fx.rate_date
    where {{ money('campaigns.spend * fx.rate_to_reporting') }} > 0

),

-- the customers a channel's CAC counts: acquired by its campaigns with spend
acquired as (

    select
        customers.customer_id,
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel

    from customers
    inner join spending_campaigns
        on customers.acquisition_campaign_id = spending_campaigns.campaign_id

),

channels as (

    select distinct acquisition_channel from acquired

),

as_of as (

    select max(month_start) as as_of_month from metric_months

),

-- every channel in every month of the metrics: a month without its customers counts zeros
spine as (

    select
        channels.acquisition_channel,
        metric_months.month_start

    from channels
    cross join metric_months

),

-- aggregated as subscription_metrics_monthly aggregates everyone
by_month as (

    select
        acquired.acquisition_channel,
        movements.month_start,
        count(case when movements.mrr_previous > 0 then 1 end) as customers_start,
        count(case when movements.mrr > 0 then 1 end) as customers_end,
        count(case when movements.movement = 'churn' then 1 end) as churned_customers,
        sum(movements.mrr) as mrr_end

    from movements
    inner join acquired on movements.customer_id = acquired.customer_id
    group by acquired.acquisition_channel, movements.month_start

),

combined as (

    select
        spine.acquisition_channel,
        spine.month_start,
        coalesce(by_month.customers_start, 0) as customers_start,
        coalesce(by_month.customers_end, 0) as customers_end,
        coalesce(by_month.churned_customers, 0) as churned_customers,
        {{ money('coalesce(by_month.mrr_end, 0)') }} as mrr_end

    from spine
    left join by_month
        on
            spine.acquisition_channel = by_month.acquisition_channel
            and spine.month_start = by_month.month_start

),

rated as (

    select
        combined.*,
        {{ trailing_arpa(partition_by='acquisition_channel') }} as trailing_arpa,
        {{ trailing_logo_churn_rate(partition_by='acquisition_channel') }}
            as trailing_logo_churn_rate

    from combined

),

lifetimes as (

    select
        rated.*,
        {{ expected_lifetime_months('trailing_logo_churn_rate') }} as expected_lifetime_months

    from rated

),

final as (

    select
        lifetimes.acquisition_channel,
        lifetimes.month_start as as_of_month,
        lifetimes.trailing_arpa,
        lifetimes.trailing_logo_churn_rate,
        lifetimes.expected_lifetime_months,
        {{ formula_ltv('lifetimes.trailing_arpa', 'lifetimes.expected_lifetime_months') }}
            as formula_ltv

    from lifetimes
    inner join as_of on lifetimes.month_start = as_of.as_of_month

)

select * from final
