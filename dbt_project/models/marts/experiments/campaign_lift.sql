{#-
    The retention lift of each campaign's offer over its no-contact holdout, by intention to
    treat: every assigned customer counts in its arm, reached by a touch or not. Each campaign is
    measured from one instant, its earliest assignment (assigned_at), over each window of var
    lift_windows_days; a customer pays at t when an active period with MRR > 0 covers t
    (valid_from <= t < valid_to), as in churn_features. The lift's 95 % interval is Newcombe's
    hybrid score interval (Newcombe 1998, method 10) from the Wilson score interval of each
    arm's retention rate. A window that has not ended by the as-of instant has no outcomes.
-#}
{%- set z = 1.959964 -%}
{%- set arms = ['treatment', 'holdout'] -%}

with

assignments as (

    select * from {{ ref('stg_marketing__campaign_assignments') }}

),

periods as (

    select * from {{ ref('fct_subscription_periods') }}

),

as_of as (

    select subscriptions_as_of_at as as_of_at from {{ ref('int_as_of') }}

),

windows as (

    {% for days in var('lift_windows_days') %}
        select {{ days }} as window_days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

paying_periods as (

    select * from periods
    where status = 'active' and mrr > 0

),

-- one row per customer in an arm of a campaign × audience × offer (a re-delivered assignment
-- counts once); no discount is a discount of 0
assigned as (

    select
        campaign_id,
        audience,
        offer,
        arm,
        customer_id,
        max(coalesce(offer_discount_pct, 0)) as offer_discount_pct,
        max(coalesce(offer_months, 0)) as offer_months

    from assignments
    group by campaign_id, audience, offer, arm, customer_id

),

campaigns as (

    select
        campaign_id,
        min(assigned_at) as assigned_at

    from assignments
    group by campaign_id

),

measures as (

    select
        campaigns.campaign_id,
        campaigns.assigned_at,
        windows.window_days,
        {{ dbt.dateadd('day', 'windows.window_days', 'campaigns.assigned_at') }} as measured_at,
        {{ dbt.dateadd('day', 'windows.window_days', 'campaigns.assigned_at') }}
        <= as_of.as_of_at as is_window_complete

    from campaigns
    cross join windows
    cross join as_of

),

campaign_customers as (

    select distinct
        campaign_id,
        customer_id

    from assigned

),

mrr_at_assignment as (

    select
        campaign_customers.campaign_id,
        campaign_customers.customer_id,
        sum(paying_periods.mrr) as mrr

    from campaign_customers
    inner join campaigns on campaign_customers.campaign_id = campaigns.campaign_id
    inner join paying_periods
        on
            campaign_customers.customer_id = paying_periods.customer_id
            and campaigns.assigned_at >= paying_periods.valid_from
            and (paying_periods.valid_to is null or campaigns.assigned_at < paying_periods.valid_to)
    group by campaign_customers.campaign_id, campaign_customers.customer_id

),

mrr_at_measure as (

    select
        campaign_customers.campaign_id,
        measures.window_days,
        campaign_customers.customer_id,
        sum(paying_periods.mrr) as mrr

    from campaign_customers
    inner join measures on campaign_customers.campaign_id = measures.campaign_id
    inner join paying_periods
        on
            campaign_customers.customer_id = paying_periods.customer_id
            and measures.measured_at >= paying_periods.valid_from
            and (paying_periods.valid_to is null or measures.measured_at < paying_periods.valid_to)
    where measures.is_window_complete
    group by campaign_customers.campaign_id, measures.window_days, campaign_customers.customer_id

),

-- each assigned customer in each window: MRR at the assignment and at the window's end (null
-- when not paying), and whether the customer was paying at both
outcomes as (

    select
        assigned.campaign_id,
        assigned.audience,
        assigned.offer,
        assigned.arm,
        assigned.customer_id,
        assigned.offer_discount_pct,
        assigned.offer_months,
        measures.assigned_at,
        measures.window_days,
        measures.measured_at,
        measures.is_window_complete,
        at_assignment.mrr as mrr_at_assignment,
        at_measure.mrr as mrr_at_measure,
        at_assignment.mrr is not null as is_paying_at_assignment,
        at_assignment.mrr is not null and at_measure.mrr is not null as is_retained

    from assigned
    inner join measures on assigned.campaign_id = measures.campaign_id
    left join mrr_at_assignment as at_assignment
        on
            assigned.campaign_id = at_assignment.campaign_id
            and assigned.customer_id = at_assignment.customer_id
    left join mrr_at_measure as at_measure
        on
            assigned.campaign_id = at_measure.campaign_id
            and measures.window_days = at_measure.window_days
            and assigned.customer_id = at_measure.customer_id

),

by_arm as (

    select
        campaign_id,
        audience,
        offer,
        assigned_at,
        window_days,
        measured_at,
        is_window_complete,
        {% for arm in arms %}
            count(case when arm = '{{ arm }}' then 1 end) as customers_{{ arm }},
            count(case when arm = '{{ arm }}' and is_paying_at_assignment then 1 end)
                as paying_at_assignment_{{ arm }},
            count(case when arm = '{{ arm }}' and is_retained then 1 end) as retained_{{ arm }},
            coalesce(sum(case when arm = '{{ arm }}' then mrr_at_assignment end), 0)
                as mrr_at_assignment_{{ arm }},
            coalesce(
                sum(
                    case
                        when arm = '{{ arm }}' and is_paying_at_assignment then mrr_at_measure
                    end
                ),
                0
            ) as mrr_retained_{{ arm }},
        {% endfor %}
        -- the discount as redeemed by the treated customers still paying (exact in decimals)
        coalesce(sum(
            case
                when arm = 'treatment' and is_retained
                    then mrr_at_assignment * offer_discount_pct * offer_months * 0.01
            end
        ), 0) as offer_cost

    from outcomes
    group by
        campaign_id, audience, offer, assigned_at, window_days, measured_at, is_window_complete

),

rated as (

    select
        by_arm.*,
        {% for arm in arms %}
            {{ safe_divide('retained_' ~ arm, 'paying_at_assignment_' ~ arm) }}
                as retention_rate_{{ arm }},
            {{ safe_divide('mrr_retained_' ~ arm, 'mrr_at_assignment_' ~ arm) }}
                as mrr_retention_rate_{{ arm }},
        {% endfor %}
        -- Wilson score interval of each arm's retention rate x / n:
        -- (x + z²/2 ± z × sqrt(x (n − x) / n + z²/4)) / (n + z²)
        {% for arm in arms %}
            {%- set x = 'cast(retained_' ~ arm ~ ' as double)' -%}
            {%- set n = 'cast(paying_at_assignment_' ~ arm ~ ' as double)' -%}
            {% for bound, sign in [('lower', '-'), ('upper', '+')] %}
                case
                    when paying_at_assignment_{{ arm }} > 0
                        then
                            (
                                {{ x }} + {{ z * z / 2 }} {{ sign }} {{ z }} * sqrt(
                                    {{ x }} * ({{ n }} - {{ x }}) / {{ n }} + {{ z * z / 4 }}
                                )
                            )
                            / ({{ n }} + {{ z * z }})
                end as wilson_{{ bound }}_{{ arm }}{% if not loop.last %},{% endif %}
            {% endfor %}{% if not loop.last %},{% endif %}
        {% endfor %}

    from by_arm

),

lifted as (

    select
        rated.*,
        retention_rate_treatment - retention_rate_holdout as retention_lift,
        -- Newcombe's hybrid score interval of the difference (method 10)
        retention_rate_treatment - retention_rate_holdout - sqrt(
            power(retention_rate_treatment - wilson_lower_treatment, 2)
            + power(wilson_upper_holdout - retention_rate_holdout, 2)
        ) as retention_lift_lower_95,
        retention_rate_treatment - retention_rate_holdout + sqrt(
            power(wilson_upper_treatment - retention_rate_treatment, 2)
            + power(retention_rate_holdout - wilson_lower_holdout, 2)
        ) as retention_lift_upper_95

    from rated

),

incremental as (

    select
        lifted.*,
        retention_lift * paying_at_assignment_treatment as incremental_customers,
        (mrr_retention_rate_treatment - mrr_retention_rate_holdout) * mrr_at_assignment_treatment
            as incremental_mrr

    from lifted

),

final as (

    select
        campaign_id,
        audience,
        offer,
        assigned_at,
        window_days,
        measured_at,
        is_window_complete,
        customers_treatment,
        customers_holdout,
        paying_at_assignment_treatment,
        paying_at_assignment_holdout,
        case when is_window_complete then retained_treatment end as retained_treatment,
        case when is_window_complete then retained_holdout end as retained_holdout,
        case when is_window_complete then retention_rate_treatment end
            as retention_rate_treatment,
        case when is_window_complete then retention_rate_holdout end as retention_rate_holdout,
        case when is_window_complete then retention_lift end as retention_lift,
        case when is_window_complete then round(retention_lift_lower_95, 4) end
            as retention_lift_lower_95,
        case when is_window_complete then round(retention_lift_upper_95, 4) end
            as retention_lift_upper_95,
        {{ money('mrr_at_assignment_treatment') }} as mrr_at_assignment_treatment,
        {{ money('mrr_at_assignment_holdout') }} as mrr_at_assignment_holdout,
        case when is_window_complete then {{ money('mrr_retained_treatment') }} end
            as mrr_retained_treatment,
        case when is_window_complete then {{ money('mrr_retained_holdout') }} end
            as mrr_retained_holdout,
        case when is_window_complete then mrr_retention_rate_treatment end
            as mrr_retention_rate_treatment,
        case when is_window_complete then mrr_retention_rate_holdout end
            as mrr_retention_rate_holdout,
        case when is_window_complete then incremental_customers end as incremental_customers,
        case when is_window_complete then {{ money_from_double('incremental_mrr') }} end
            as incremental_mrr,
        case when is_window_complete then {{ money('offer_cost') }} end as offer_cost,
        case
            when is_window_complete and incremental_customers > 0
                then {{ money_from_double(safe_divide('offer_cost', 'incremental_customers')) }}
        end as cost_per_saved_customer

    from incremental

)

select * from final
