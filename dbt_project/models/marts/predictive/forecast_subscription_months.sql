{#-
    The MRR forecast's input (subscriber_warehouse/forecast, docs/metrics.md, MRR forecast): one
    row per subscription per month it paid at the month's last instant, with its MRR then (the
    rows fct_customer_mrr_monthly sums per customer), its billing interval, and the anchor of its
    billing periods (the instant its first paying spell began). A forecast from origin month T
    reads the rows up to T only; its lifetimes and ages in billing periods come from them.
-#}
with

month_end as (

    select * from {{ ref('int_subscriptions__month_end') }}

),

lifetimes as (

    select * from {{ ref('subscription_lifetimes') }}

),

paying as (

    select * from month_end
    where mrr > 0

),

-- a subscription with MRR but no active paying spell (e.g. past_due from its first state) is
-- anchored on its first paying month-end state
first_paying_state as (

    select
        subscription_id,
        min(state_started_at) as first_state_at

    from paying
    group by subscription_id

),

final as (

    select
        paying.subscription_id,
        paying.customer_id,
        paying.month_start,
        paying.billing_interval,
        paying.interval_count,
        coalesce(lifetimes.started_at, first_paying_state.first_state_at) as anchor_at,
        paying.mrr

    from paying
    inner join first_paying_state on paying.subscription_id = first_paying_state.subscription_id
    left join lifetimes on paying.subscription_id = lifetimes.subscription_id

)

select * from final
