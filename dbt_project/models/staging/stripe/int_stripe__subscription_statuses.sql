{#-
    Each Stripe subscription's status over time, at the instants the object itself records
    (docs/sources/stripe.md, State over time):
    - it starts at start_date (created): trialing while trial_end is ahead, else active;
    - a trial ends at trial_end (the latest version's: a trial ended early or extended rewrites
      it), once a version shows it out of the trial: active, unless the subscription ended then
      (a trial_end ahead is only a schedule);
    - past_due (dunning) still pays: no change;
    - pause_collection set (or status paused): paused from the version that set it; cleared:
      active again (a version has no instant of its own: the connector's _fivetran_start);
    - created paused or incomplete (its first payment failing): paused until a version shows it
      paying;
    - it ends at the first of: ended_at (canceled; cancel_at_period_end keeps it paying until
      then), the first unpaid version (dunning exhausted without a cancel) or incomplete_expired
      (the first payment never made) — the last two canceled, payment_failed.
    Nothing after the end counts: Stripe never restarts a canceled subscription.
-#}
with

versions as (

    select * from {{ ref('stg_stripe__subscription') }}
    where rejection_reason is null

),

-- the latest version's trial_end is the trial's: ending a trial early (trial_end 'now') or
-- extending it rewrites the field, so the earlier versions' values are schedules given up
latest_versions as (

    select
        *,
        row_number() over (
            partition by subscription_id order by version_from desc
        ) as version_rank,
        row_number() over (
            partition by subscription_id order by version_from
        ) as version_rank_from_start

    from versions

),

subscriptions as (

    select
        subscription_id,
        min(customer_id) as customer_id,
        min(started_at) as started_at,
        coalesce(
            max(case when version_rank = 1 then trial_end end), max(trial_end)
        ) as trial_end,
        min(ended_at) as ended_at,
        min(case when status = 'unpaid' then version_from end) as unpaid_at,
        min(case when status = 'incomplete_expired' then version_from end) as expired_at,
        -- a trial ends when a version shows the subscription out of it: trial_end alone is
        -- only a schedule
        max(case when status not in ('trialing', 'canceled') then 1 else 0 end) as left_trial,
        -- a subscription created paused (or incomplete: its first payment failing) pays nothing
        -- until a version shows it paying
        max(
            case
                when
                    version_rank_from_start = 1
                    and (
                        pause_collection_behavior is not null or status in ('paused', 'incomplete')
                    )
                    then 1
                else 0
            end
        ) as starts_paused

    from latest_versions
    group by subscription_id

),

paused_versions as (

    select
        *,
        pause_collection_behavior is not null or status in ('paused', 'incomplete') as is_paused,
        lag(pause_collection_behavior is not null or status in ('paused', 'incomplete')) over (
            partition by subscription_id order by version_from
        ) as was_paused

    from versions

),

ended_versions as (

    select
        subscription_id,
        cancellation_details_reason,
        cancellation_details_feedback,
        row_number() over (
            partition by subscription_id order by version_from desc
        ) as version_rank

    from versions
    where ended_at is not null

),

-- the first of: ended, expired before its first payment, or unpaid once dunning gave up
ends as (

    select
        subscriptions.subscription_id,
        least(
            coalesce(subscriptions.ended_at, subscriptions.expired_at, subscriptions.unpaid_at),
            coalesce(subscriptions.expired_at, subscriptions.unpaid_at, subscriptions.ended_at),
            coalesce(subscriptions.unpaid_at, subscriptions.ended_at, subscriptions.expired_at)
        ) as ended_at,
        case
            when
                subscriptions.unpaid_at is not null
                and (
                    subscriptions.ended_at is null
                    or subscriptions.unpaid_at < subscriptions.ended_at
                )
                then 'payment_failed'
            when subscriptions.expired_at is not null and subscriptions.ended_at is null
                then 'payment_failed'
            else {{ stripe_cancel_reason(
                'ended_versions.cancellation_details_reason',
                'ended_versions.cancellation_details_feedback'
            ) }}
        end as cancel_reason

    from subscriptions
    left join ended_versions
        on
            subscriptions.subscription_id = ended_versions.subscription_id
            and ended_versions.version_rank = 1

),

changes as (

    select
        subscription_id,
        started_at as changed_at,
        case
            when trial_end > started_at then 'trialing'
            when starts_paused = 1 then 'paused'
            else 'active'
        end as status,
        cast(null as {{ dbt.type_string() }}) as cancel_reason,
        0 as change_order

    from subscriptions

    union all

    select
        subscription_id,
        trial_end as changed_at,
        'active' as status,
        null as cancel_reason,
        1 as change_order

    from subscriptions
    where
        trial_end > started_at
        and left_trial = 1
        and (ended_at is null or ended_at > trial_end)

    union all

    select
        subscription_id,
        version_from as changed_at,
        case when is_paused then 'paused' else 'active' end as status,
        null as cancel_reason,
        2 as change_order

    from paused_versions
    where was_paused is not null and is_paused <> was_paused

    union all

    select
        subscription_id,
        ended_at as changed_at,
        'canceled' as status,
        cancel_reason,
        3 as change_order

    from ends
    where ended_at is not null

),

in_life as (

    select changes.*

    from changes
    inner join subscriptions on changes.subscription_id = subscriptions.subscription_id
    left join ends on changes.subscription_id = ends.subscription_id
    where
        changes.changed_at >= subscriptions.started_at
        and (
            ends.ended_at is null
            or changes.changed_at < ends.ended_at
            or changes.status = 'canceled'
        )

),

ordered as (

    select
        *,
        lag(status) over (
            partition by subscription_id order by changed_at, change_order
        ) as previous_status

    from in_life

),

final as (

    select
        ordered.subscription_id,
        subscriptions.customer_id,
        ordered.changed_at,
        ordered.status,
        ordered.cancel_reason

    from ordered
    inner join subscriptions on ordered.subscription_id = subscriptions.subscription_id
    where ordered.previous_status is null or ordered.status <> ordered.previous_status

)

select * from final
