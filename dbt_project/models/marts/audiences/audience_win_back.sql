{%- set lookback = var('audience_lookback_days') -%}

with

periods as (

    select * from {{ ref('fct_subscription_periods') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

as_of as (

    select max(valid_from) as as_of_at from periods

),

-- when each customer last stopped paying (a paying state ended), if they are not paying now
last_paid as (

    select
        customer_id,
        max(coalesce(valid_to, {{ dbt.dateadd('year', 100, 'valid_from') }})) as paid_until

    from periods
    where status = 'active' and mrr > 0
    group by customer_id

),

-- historical value is ranked among every customer who ever paid
ranked as (

    select
        subscribers.*,
        last_paid.paid_until,
        percent_rank() over (order by subscribers.historical_net_revenue desc)
            as value_rank_share

    from subscribers
    inner join last_paid on subscribers.customer_id = last_paid.customer_id

),

final as (

    select
        ranked.customer_id,
        {{ dbt.concat([
            "'stopped paying on '", as_text('cast(ranked.paid_until as date)'),
            "' after '", as_text('ranked.historical_net_revenue'), "' net revenue'",
        ]) }} as reason,
        {{ audience_columns('ranked') }}

    from ranked
    cross join as_of
    where
        ranked.current_mrr = 0
        and ranked.paid_until > {{ dbt.dateadd('day', -lookback, 'as_of.as_of_at') }}
        and ranked.paid_until <= as_of.as_of_at
        and ranked.value_rank_share < {{ var('value_tier_medium_share') }}

)

select * from final
