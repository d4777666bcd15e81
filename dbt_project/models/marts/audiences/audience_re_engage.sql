with

features as (

    select * from {{ ref('churn_features') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

dropped as (

    select * from features
    where
        is_scoring_cutoff
        -- a full baseline window: the last 30 days and the 90 before them
        and tenure_days >= 120
        and usage_baseline_per_30_days >= {{ var('audience_min_usage_per_30_days') }}
        and usage_last_30_days
        <= {{ var('re_engage_usage_share') }} * usage_baseline_per_30_days

),

final as (

    select
        dropped.customer_id,
        {{ dbt.concat([
            "'usage down '",
            as_text('cast(round(100 * (1 - coalesce(dropped.usage_vs_baseline, 0))) as integer)'),
            "'% on own baseline ('", as_text('dropped.usage_last_30_days'),
            "' events in 30 days)'",
        ]) }} as reason,
        {{ audience_columns() }}

    from dropped
    inner join subscribers on dropped.customer_id = subscribers.customer_id

)

select * from final
