with

scores as (

    select * from {{ source('predictive', 'churn_risk_scores') }}

),

subscription_value as (

    select * from {{ source('predictive', 'clv_predictions') }}

),

purchase_value as (

    select * from {{ source('predictive', 'purchase_clv_predictions') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

subscription_value_by_customer as (

    select
        customer_id,
        sum(predicted_residual_value) as predicted_subscription_value

    from subscription_value
    group by customer_id

),

valued as (

    select
        scores.customer_id,
        scores.churn_probability,
        scores.risk_tier,
        scores.top_factors,
        {{ money('coalesce(subscription_value_by_customer.predicted_subscription_value, 0)') }}
            as predicted_subscription_value,
        {{ money('coalesce(purchase_value.predicted_spend, 0)') }} as predicted_one_off_spend,
        {{ money(
            'coalesce(subscription_value_by_customer.predicted_subscription_value, 0)'
            ~ ' + coalesce(purchase_value.predicted_spend, 0)'
        ) }} as predicted_clv

    from scores
    left join subscription_value_by_customer
        on scores.customer_id = subscription_value_by_customer.customer_id
    left join purchase_value on scores.customer_id = purchase_value.customer_id

),

ranked as (

    select
        *,
        percent_rank() over (order by predicted_clv desc) as value_rank_share

    from valued

),

tiered as (

    select
        *,
        case
            when value_rank_share < {{ var('value_tier_high_share') }} then 'high'
            when value_rank_share < {{ var('value_tier_medium_share') }} then 'medium'
            else 'low'
        end as value_tier

    from ranked

),

final as (

    select
        tiered.customer_id,
        subscribers.email_hash,
        subscribers.current_plan_ids,
        subscribers.country,
        subscribers.acquisition_channel,
        subscribers.cohort_month,
        tiered.predicted_subscription_value,
        tiered.predicted_one_off_spend,
        tiered.predicted_clv,
        tiered.value_tier,
        tiered.churn_probability,
        tiered.risk_tier,
        tiered.top_factors,
        {{ dbt.concat(["tiered.value_tier", "' value, '", "tiered.risk_tier", "' risk'"]) }}
            as segment,
        case
            when tiered.risk_tier = 'high' and tiered.value_tier = 'low' then 'automate'
            when tiered.risk_tier = 'high' and tiered.value_tier = 'high' then 'protect'
            when tiered.risk_tier = 'high' then 'rescue'
            when tiered.risk_tier = 'medium' and tiered.value_tier = 'high' then 'retain'
            when tiered.risk_tier = 'medium' then 'nurture'
            when tiered.value_tier = 'high' then 'reward'
            else 'grow'
        end as recommended_action

    from tiered
    inner join subscribers on tiered.customer_id = subscribers.customer_id

)

select * from final
