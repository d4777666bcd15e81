{#-
    Each subscription's first paying spell in billing periods, for the contractual CLV model
    (docs/metrics.md, Contractual CLV). Periods are calendar periods of the billing interval
    anchored on the instant the spell began: month-based intervals add whole months to the anchor
    (Jan 31 -> Feb 29 -> Mar 31, as billing systems do), week and day intervals add days.
    - churned: paid_periods = the periods that began before the cancel instant, so a cancel at the
      last second of a period, or exactly at its end (cancel at period end), pays that period
      and no more: the same lifetime as a cancel in its middle;
    - still paying at the as-of instant: paid_periods = the periods begun by then, the current
      one included.
    lifetime_periods is what the shifted-beta-geometric fit reads: T = paid_periods for a
    churned spell, the renewals made n = paid_periods - 1 (T > n, censored) for a live one. A
    subscription reactivated after its first spell keeps that spell's lifetime.
-#}
with

periods as (

    select * from {{ ref('fct_subscription_periods') }}

),

as_of as (

    select subscriptions_as_of_at as as_of_at from {{ ref('int_as_of') }}

),

paying as (

    select
        *,
        row_number() over (
            partition by subscription_id order by valid_from, state_number
        ) as paying_rank

    from periods
    where status = 'active' and mrr > 0

),

starts as (

    select * from paying
    where paying_rank = 1

),

ends as (

    select
        periods.subscription_id,
        min(periods.valid_from) as ended_at

    from periods
    inner join starts on periods.subscription_id = starts.subscription_id
    where periods.status = 'canceled' and periods.valid_from > starts.valid_from
    group by periods.subscription_id

),

current_state as (

    select
        subscription_id,
        status,
        mrr

    from periods
    where is_current

),

spells as (

    select
        starts.subscription_id,
        starts.customer_id,
        starts.billing_interval,
        starts.interval_count,
        starts.valid_from as started_at,
        ends.ended_at,
        ends.ended_at is not null as is_churned,
        coalesce(ends.ended_at, as_of.as_of_at) as observed_until,
        case starts.billing_interval
            when 'month' then starts.interval_count
            when 'year' then 12 * starts.interval_count
        end as months_per_period,
        case starts.billing_interval
            when 'week' then 7 * starts.interval_count
            when 'day' then starts.interval_count
        end as days_per_period,
        current_state.status = 'active' and current_state.mrr > 0 as is_paying,
        current_state.mrr as current_mrr

    from starts
    cross join as_of
    left join ends on starts.subscription_id = ends.subscription_id
    left join current_state on starts.subscription_id = current_state.subscription_id

),

-- k = the last period that can have begun by observed_until: whole calendar months (or days)
-- from the anchor, divided by the period length; the period k itself may begin after it
latest_candidate as (

    select
        spells.*,
        case
            when months_per_period is not null
                then floor(
                    (
                        (
                            {{ date_part_number('year', 'observed_until') }}
                            - {{ date_part_number('year', 'started_at') }}
                        ) * 12
                        + {{ date_part_number('month', 'observed_until') }}
                        - {{ date_part_number('month', 'started_at') }}
                    ) / months_per_period
                )
            else floor(
                {{ dbt.datediff('started_at', 'observed_until', 'second') }}
                / (86400.0 * days_per_period)
            )
        end as candidate_period

    from spells

),

candidate_starts as (

    select
        latest_candidate.*,
        case
            when months_per_period is not null
                then {{ dbt.dateadd(
                    'month', 'cast(candidate_period * months_per_period as integer)', 'started_at'
                ) }}
            else {{ dbt.dateadd(
                'day', 'cast(candidate_period * days_per_period as integer)', 'started_at'
            ) }}
        end as candidate_period_start

    from latest_candidate

),

counted as (

    select
        *,
        -- periods 0..k-1 began before observed_until; period k began before it (churned) or
        -- by it (still paying)
        cast(
            candidate_period
            + case
                when is_churned and candidate_period_start < observed_until then 1
                when not is_churned and candidate_period_start <= observed_until then 1
                else 0
            end
            as bigint
        ) as paid_periods

    from candidate_starts

),

final as (

    select
        subscription_id,
        customer_id,
        billing_interval,
        interval_count,
        billing_interval || '-' || cast(interval_count as {{ dbt.type_string() }}) as segment,
        started_at,
        ended_at,
        is_churned,
        paid_periods,
        case when is_churned then paid_periods else paid_periods - 1 end as lifetime_periods,
        coalesce(is_paying, false) as is_paying,
        current_mrr

    from counted

)

select * from final
