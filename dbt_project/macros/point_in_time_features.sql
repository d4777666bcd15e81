{#-
    The point-in-time customer features of churn_features (and of uplift_features), computed at
    the instants `cutoffs` lists: a select of (cutoffs_before_as_of, cutoff_at, as_of_at) that
    may read the as_of CTE (the as-of instant). Every feature reads only rows timestamped before
    its cutoff; is_churned_within_horizon looks at the churn horizon after it.
-#}
{% macro point_in_time_features(cutoffs) -%}
{%- set horizon = var('churn_horizon_days') -%}

with

periods as (

    select * from {{ ref('fct_subscription_periods') }}

),

usage_daily as (

    select * from {{ ref('fct_usage_daily') }}

),

payments as (

    select * from {{ ref('fct_payments') }}

),

tickets as (

    select * from {{ ref('fct_support_tickets') }}

),

interactions as (

    select * from {{ ref('fct_social_interactions') }}

),

touches as (

    select * from {{ ref('fct_campaign_touches') }}

),

as_of as (

    select subscriptions_as_of_at as as_of_at from {{ ref('int_as_of') }}

),

cutoffs as (

    {{ cutoffs }}

),

paying_periods as (

    select * from periods
    where status = 'active' and mrr > 0

),

paying_at_cutoffs as (

    select
        paying_periods.customer_id,
        paying_periods.subscription_id,
        paying_periods.mrr,
        paying_periods.billing_interval,
        paying_periods.tier,
        paying_periods.discount_pct,
        cutoffs.cutoff_at,
        cutoffs.cutoffs_before_as_of,
        cutoffs.as_of_at

    from paying_periods
    inner join cutoffs
        on
            paying_periods.valid_from <= cutoffs.cutoff_at
            and (paying_periods.valid_to is null or paying_periods.valid_to > cutoffs.cutoff_at)

),

-- customers paying at each cutoff, and what they pay
population as (

    select
        customer_id,
        cutoff_at,
        cutoffs_before_as_of,
        as_of_at,
        sum(mrr) as mrr,
        count(*) as active_subscriptions,
        max(case when billing_interval = 'year' then 1 else 0 end) as has_annual_plan,
        max(case when discount_pct > 0 then 1 else 0 end) as has_discount

    from paying_at_cutoffs
    group by customer_id, cutoff_at, cutoffs_before_as_of, as_of_at

),

-- the tier of the customer's largest paying subscription (the model one-hot encodes it)
primary_plans as (

    select
        customer_id,
        cutoff_at,
        tier as primary_tier,
        row_number() over (
            partition by customer_id, cutoff_at
            order by mrr desc, subscription_id asc
        ) as plan_rank

    from paying_at_cutoffs

),

first_paid as (

    select
        customer_id,
        min(valid_from) as first_paid_at

    from paying_periods
    group by customer_id

),

-- customer MRR one horizon before each cutoff (the trend) and one after it (the label)
{% for name, days in [('mrr_before', -horizon), ('mrr_after', horizon)] %}
    {{ name }} as (

        select
            paying_periods.customer_id,
            cutoffs.cutoff_at,
            sum(paying_periods.mrr) as mrr

        from paying_periods
        inner join cutoffs
            on
                paying_periods.valid_from
                <= {{ dbt.dateadd('day', days, 'cutoffs.cutoff_at') }}
                and (
                    paying_periods.valid_to is null
                    or paying_periods.valid_to
                    > {{ dbt.dateadd('day', days, 'cutoffs.cutoff_at') }}
                )
        group by paying_periods.customer_id, cutoffs.cutoff_at

    ),
{% endfor %}

-- whole UTC days before the cutoff's day: the last 30, and the 90 before them (the baseline)
usage_windows as (

    select
        usage_daily.customer_id,
        cutoffs.cutoff_at,
        sum(
            case
                when
                    usage_daily.usage_date
                    >= {{ dbt.dateadd('day', -30, 'cast(cutoffs.cutoff_at as date)') }}
                    then usage_daily.event_count
                else 0
            end
        ) as usage_last_30_days,
        sum(
            case
                when
                    usage_daily.usage_date
                    < {{ dbt.dateadd('day', -30, 'cast(cutoffs.cutoff_at as date)') }}
                    then usage_daily.event_count
                else 0
            end
        ) as usage_prior_90_days

    from usage_daily
    inner join cutoffs
        on
            usage_daily.usage_date < cast(cutoffs.cutoff_at as date)
            and usage_daily.usage_date
            >= {{ dbt.dateadd('day', -120, 'cast(cutoffs.cutoff_at as date)') }}
    group by usage_daily.customer_id, cutoffs.cutoff_at

),

payment_windows as (

    select
        payments.customer_id,
        cutoffs.cutoff_at,
        count(*) as failed_payments_last_90_days

    from payments
    inner join cutoffs
        on
            payments.attempted_at <= cutoffs.cutoff_at
            and payments.attempted_at > {{ dbt.dateadd('day', -90, 'cutoffs.cutoff_at') }}
    where payments.status = 'failed'
    group by payments.customer_id, cutoffs.cutoff_at

),

ticket_windows as (

    select
        tickets.customer_id,
        cutoffs.cutoff_at,
        count(*) as tickets_last_90_days,
        sum(case when tickets.is_low_satisfaction then 1 else 0 end)
            as low_satisfaction_tickets_last_90_days,
        avg(cast(tickets.satisfaction_score as double)) as avg_satisfaction_last_90_days

    from tickets
    inner join cutoffs
        on
            tickets.opened_at <= cutoffs.cutoff_at
            and tickets.opened_at > {{ dbt.dateadd('day', -90, 'cutoffs.cutoff_at') }}
    group by tickets.customer_id, cutoffs.cutoff_at

),

sentiment_windows as (

    select
        interactions.customer_id,
        cutoffs.cutoff_at,
        avg(interactions.sentiment_score) as avg_sentiment_last_90_days

    from interactions
    inner join cutoffs
        on
            interactions.occurred_at <= cutoffs.cutoff_at
            and interactions.occurred_at > {{ dbt.dateadd('day', -90, 'cutoffs.cutoff_at') }}
    where interactions.is_matched and interactions.sentiment_score is not null
    group by interactions.customer_id, cutoffs.cutoff_at

),

engagement_windows as (

    select
        touches.customer_id,
        cutoffs.cutoff_at,
        sum(case when touches.touch_type in ('opened', 'clicked', 'converted') then 1 else 0 end)
            as campaign_engagements_last_90_days,
        sum(case when touches.touch_type = 'unsubscribed' then 1 else 0 end)
            as campaign_unsubscribes_last_90_days

    from touches
    inner join cutoffs
        on
            touches.touched_at <= cutoffs.cutoff_at
            and touches.touched_at > {{ dbt.dateadd('day', -90, 'cutoffs.cutoff_at') }}
    group by touches.customer_id, cutoffs.cutoff_at

),

final as (

    select
        population.customer_id,
        population.cutoff_at,
        population.cutoffs_before_as_of,
        population.cutoffs_before_as_of = 0 as is_scoring_cutoff,
        {{ dbt.datediff('first_paid.first_paid_at', 'population.cutoff_at', 'day') }}
            as tenure_days,
        {{ money('population.mrr') }} as mrr,
        {{ money('coalesce(mrr_before.mrr, 0)') }} as mrr_one_horizon_before,
        population.active_subscriptions,
        population.has_annual_plan = 1 as has_annual_plan,
        primary_plans.primary_tier,
        population.has_discount = 1 as has_discount,
        coalesce(usage_windows.usage_last_30_days, 0) as usage_last_30_days,
        coalesce(usage_windows.usage_prior_90_days, 0) / 3.0 as usage_baseline_per_30_days,
        {{ safe_divide(
            'coalesce(usage_windows.usage_last_30_days, 0)',
            'coalesce(usage_windows.usage_prior_90_days, 0) / 3.0'
        ) }} as usage_vs_baseline,
        coalesce(payment_windows.failed_payments_last_90_days, 0)
            as failed_payments_last_90_days,
        coalesce(ticket_windows.tickets_last_90_days, 0) as tickets_last_90_days,
        coalesce(ticket_windows.low_satisfaction_tickets_last_90_days, 0)
            as low_satisfaction_tickets_last_90_days,
        ticket_windows.avg_satisfaction_last_90_days,
        sentiment_windows.avg_sentiment_last_90_days,
        coalesce(engagement_windows.campaign_engagements_last_90_days, 0)
            as campaign_engagements_last_90_days,
        coalesce(engagement_windows.campaign_unsubscribes_last_90_days, 0)
            as campaign_unsubscribes_last_90_days,
        case
            when
                {{ dbt.dateadd('day', horizon, 'population.cutoff_at') }}
                <= population.as_of_at
                then coalesce(mrr_after.mrr, 0) = 0
        end as is_churned_within_horizon

    from population
    inner join first_paid on population.customer_id = first_paid.customer_id
    inner join primary_plans
        on
            population.customer_id = primary_plans.customer_id
            and population.cutoff_at = primary_plans.cutoff_at
            and primary_plans.plan_rank = 1
    {% for window in [
        'mrr_before', 'mrr_after', 'usage_windows', 'payment_windows', 'ticket_windows',
        'sentiment_windows', 'engagement_windows',
    ] %}
        left join {{ window }}
            on
                population.customer_id = {{ window }}.customer_id
                and population.cutoff_at = {{ window }}.cutoff_at
    {% endfor %}

)

select * from final

{%- endmacro %}
