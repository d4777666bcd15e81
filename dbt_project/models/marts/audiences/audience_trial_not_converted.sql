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

-- subscriptions that had a trial and never an active state, and when the trial ended
trials as (

    select
        customer_id,
        subscription_id,
        max(case when status = 'active' then 1 else 0 end) as was_activated,
        max(case when status = 'trialing' then 1 else 0 end) as had_trial,
        min(case when status = 'canceled' then valid_from end) as trial_ended_at

    from periods
    group by customer_id, subscription_id

),

lapsed as (

    select
        customer_id,
        max(trial_ended_at) as trial_ended_at

    from trials
    where had_trial = 1 and was_activated = 0 and trial_ended_at is not null
    group by customer_id

),

final as (

    select
        lapsed.customer_id,
        {{ dbt.concat([
            "'trial ended without converting on '", as_text('cast(lapsed.trial_ended_at as date)'),
        ]) }} as reason,
        {{ audience_columns() }}

    from lapsed
    cross join as_of
    inner join subscribers on lapsed.customer_id = subscribers.customer_id
    where
        lapsed.trial_ended_at > {{ dbt.dateadd('day', -lookback, 'as_of.as_of_at') }}
        and subscribers.status not in ('active', 'trialing')

)

select * from final
