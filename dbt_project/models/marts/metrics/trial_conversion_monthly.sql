with

periods as (

    select * from {{ ref('int_subscriptions__state_periods') }}

),

-- a trial starts at the subscription's first trialing state (metric contract, Trials)
trials as (

    select
        subscription_id,
        min(state_number) as trial_state_number,
        min(valid_from) as trial_started_at

    from periods
    where status = 'trialing'
    group by subscription_id

),

conversions as (

    select
        trials.subscription_id,
        min(periods.valid_from) as converted_at

    from trials
    inner join periods
        on
            trials.subscription_id = periods.subscription_id
            and trials.trial_state_number < periods.state_number
    where periods.status = 'active' and periods.mrr > 0
    group by trials.subscription_id

),

final as (

    select
        {{ month_start('trials.trial_started_at') }} as trial_month,
        count(*) as trials_started,
        count(conversions.subscription_id) as trials_converted,
        {{ safe_divide('count(conversions.subscription_id)', 'count(*)') }}
            as trial_conversion_rate,
        avg({{ dbt.datediff('trials.trial_started_at', 'conversions.converted_at', 'day') }})
            as avg_days_to_convert

    from trials
    left join conversions on trials.subscription_id = conversions.subscription_id
    group by {{ month_start('trials.trial_started_at') }}

)

select * from final
