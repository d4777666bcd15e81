with

customers as (

    select * from {{ ref('stg_billing__customers') }}

),

periods as (

    select * from {{ ref('fct_subscription_periods') }}

),

clv as (

    select * from {{ ref('customer_lifetime_value') }}

),

preferences as (

    select * from {{ ref('stg_crm__preferences') }}

),

attributes as (

    select * from {{ ref('stg_crm__customer_attributes') }}

),

tickets as (

    select * from {{ ref('fct_support_tickets') }}

),

usage_events as (

    select * from {{ ref('stg_product__usage_events') }}

),

interactions as (

    select * from {{ ref('fct_social_interactions') }}

),

payments as (

    select * from {{ ref('fct_payments') }}

),

as_of as (

    select
        subscriptions_as_of_at as as_of_at,
        subscriptions_as_of_month as as_of_month

    from {{ ref('int_as_of') }}

),

windows as (

    select
        as_of_at,
        as_of_month,
        {{ dbt.dateadd('day', -30, 'as_of_at') }} as last_30_days_after,
        {{ dbt.dateadd('day', -90, 'as_of_at') }} as last_90_days_after

    from as_of

),

-- each subscription's state after its latest event
current_states as (

    select
        customer_id,
        plan_id,
        status,
        case status
            when 'active' then 1
            when 'trialing' then 2
            when 'paused' then 3
            when 'canceled' then 4
        end as status_rank

    from periods
    where is_current

),

subscription_summary as (

    select
        customer_id,
        min(status_rank) as best_status_rank,
        count(case when status = 'active' then 1 end) as active_subscriptions

    from current_states
    group by customer_id

),

-- the plans of subscriptions that are not canceled
current_plans as (

    select
        customer_id,
        {{ string_agg('plan_id') }} as current_plan_ids

    from current_states
    where status <> 'canceled'
    group by customer_id

),

latest_preferences as (

    select
        customer_id,
        preference_key,
        preference_value,
        row_number() over (
            partition by customer_id, preference_key
            order by updated_at desc
        ) as update_rank

    from preferences

),

preferences_pivoted as (

    select
        customer_id,
        max(case when preference_key = 'email_opt_in' then preference_value end)
            as email_opt_in,
        max(case when preference_key = 'sms_opt_in' then preference_value end)
            as sms_opt_in,
        max(case when preference_key = 'preferred_language' then preference_value end)
            as preferred_language,
        max(case when preference_key = 'content_interests' then preference_value end)
            as content_interests

    from latest_preferences
    where update_rank = 1
    group by customer_id

),

latest_attributes as (

    select
        customer_id,
        attribute_name,
        attribute_value,
        row_number() over (
            partition by customer_id, attribute_name
            order by updated_at desc
        ) as update_rank

    from attributes

),

-- the latest value of every attribute; those named in var customer_traits also as columns
traits_pivoted as (

    select
        customer_id,
        {% for trait in var('customer_traits') %}
            max(case when attribute_name = '{{ trait }}' then attribute_value end)
                as trait_{{ trait }},
        {% endfor %}
        {{ string_agg(dbt.concat(['attribute_name', "'='", 'attribute_value'])) }} as traits

    from latest_attributes
    where update_rank = 1 and attribute_value is not null
    group by customer_id

),

support_summary as (

    select
        tickets.customer_id,
        count(*) as tickets_total,
        count(case when tickets.opened_at > windows.last_90_days_after then 1 end)
            as tickets_last_90_days,
        avg(cast(tickets.satisfaction_score as double)) as avg_satisfaction_score

    from tickets
    cross join windows
    group by tickets.customer_id

),

activity_summary as (

    select
        usage_events.customer_id,
        count(case when usage_events.occurred_at > windows.last_30_days_after then 1 end)
            as usage_events_last_30_days,
        max(cast(usage_events.occurred_at as date)) as last_active_date

    from usage_events
    cross join windows
    group by usage_events.customer_id

),

latest_sentiment as (

    select
        customer_id,
        sentiment_score,
        row_number() over (
            partition by customer_id
            order by occurred_at desc, interaction_id desc
        ) as interaction_rank

    from interactions
    where is_matched and sentiment_score is not null

),

payment_summary as (

    select
        payments.customer_id,
        count(
            case
                when
                    payments.status = 'failed'
                    and payments.attempted_at > windows.last_90_days_after
                    then 1
            end
        ) as failed_payments_last_90_days

    from payments
    cross join windows
    group by payments.customer_id

),

final as (

    select
        customers.customer_id,
        customers.email_hash,
        customers.country,
        customers.created_at,
        customers.acquisition_channel,
        customers.acquisition_campaign_id,
        case subscription_summary.best_status_rank
            when 1 then 'active'
            when 2 then 'trialing'
            when 3 then 'paused'
            when 4 then 'canceled'
            else 'none'
        end as status,
        coalesce(subscription_summary.active_subscriptions, 0) as active_subscriptions,
        current_plans.current_plan_ids,
        {{ money('coalesce(clv.current_mrr, 0)') }} as current_mrr,
        clv.cohort_month,
        {{ money('coalesce(clv.historical_net_revenue, 0)') }} as historical_net_revenue,
        cast(
            {{ dbt.datediff('clv.cohort_month', 'windows.as_of_month', 'month') }}
            as integer
        ) as tenure_months,
        case preferences_pivoted.email_opt_in
            when 'true' then true
            when 'false' then false
        end as email_opt_in,
        case preferences_pivoted.sms_opt_in
            when 'true' then true
            when 'false' then false
        end as sms_opt_in,
        preferences_pivoted.preferred_language,
        preferences_pivoted.content_interests,
        {% for trait in var('customer_traits') %}
            traits_pivoted.trait_{{ trait }},
        {% endfor %}
        traits_pivoted.traits,
        coalesce(support_summary.tickets_total, 0) as tickets_total,
        coalesce(support_summary.tickets_last_90_days, 0) as tickets_last_90_days,
        support_summary.avg_satisfaction_score,
        coalesce(activity_summary.usage_events_last_30_days, 0) as usage_events_last_30_days,
        activity_summary.last_active_date,
        latest_sentiment.sentiment_score as latest_sentiment_score,
        coalesce(payment_summary.failed_payments_last_90_days, 0)
            as failed_payments_last_90_days,
        windows.as_of_at

    from customers
    cross join windows
    left join subscription_summary on customers.customer_id = subscription_summary.customer_id
    left join current_plans on customers.customer_id = current_plans.customer_id
    left join clv on customers.customer_id = clv.customer_id
    left join preferences_pivoted on customers.customer_id = preferences_pivoted.customer_id
    left join traits_pivoted on customers.customer_id = traits_pivoted.customer_id
    left join support_summary on customers.customer_id = support_summary.customer_id
    left join activity_summary on customers.customer_id = activity_summary.customer_id
    left join latest_sentiment
        on
            customers.customer_id = latest_sentiment.customer_id
            and latest_sentiment.interaction_rank = 1
    left join payment_summary on customers.customer_id = payment_summary.customer_id

)

select * from final
