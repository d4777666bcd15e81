-- usage well above the customer's own baseline is the expansion-like behaviour the data shows
-- (the raw contract carries no plan limits); a recent expansion is named in the reason
with

features as (

    select * from {{ ref('churn_features') }}

),

monthly as (

    select * from {{ ref('fct_customer_mrr_monthly') }}

),

segments as (

    select * from {{ ref('customer_segments') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

growing as (

    select * from features
    where
        is_scoring_cutoff
        -- a full baseline window: the last 30 days and the 90 before them
        and tenure_days >= 120
        and usage_vs_baseline >= {{ var('upsell_usage_growth') }}
        and usage_last_30_days >= {{ var('audience_min_usage_per_30_days') }}

),

-- expansions in the three months up to the as-of month
recent_expansions as (

    select
        monthly.customer_id,
        count(*) as expansions

    from monthly
    inner join growing on monthly.customer_id = growing.customer_id
    where
        monthly.movement = 'expansion'
        and monthly.month_start
        > {{ dbt.dateadd('month', -3, month_start('growing.cutoff_at')) }}
    group by monthly.customer_id

),

final as (

    select
        growing.customer_id,
        {{ dbt.concat([
            "'usage at '",
            as_text('cast(round(100 * growing.usage_vs_baseline) as integer)'),
            "'% of own baseline, '",
            as_text('coalesce(recent_expansions.expansions, 0)'),
            "' expansion(s) in 3 months'",
        ]) }} as reason,
        {{ audience_columns() }}

    from growing
    inner join segments on growing.customer_id = segments.customer_id
    inner join subscribers on growing.customer_id = subscribers.customer_id
    left join recent_expansions on growing.customer_id = recent_expansions.customer_id
    where segments.risk_tier <> 'high'

)

select * from final
