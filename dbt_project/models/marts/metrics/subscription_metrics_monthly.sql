with

movements as (

    select * from {{ ref('fct_customer_mrr_monthly') }}

),

customer_mrr as (

    select * from {{ ref('int_customers__mrr_monthly') }}

),

month_end as (

    select * from {{ ref('int_subscriptions__month_end') }}

),

periods as (

    select * from {{ ref('int_subscriptions__state_periods') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

as_of as (

    {{ as_of_month() }}

),

report_range as (

    select
        (select min(month_start) from customer_mrr) as first_month,
        (select as_of_month from as_of) as as_of_month

),

report_months as (

    select months.*

    from months
    cross join report_range
    where months.month_start between report_range.first_month and report_range.as_of_month

),

by_month as (

    select
        month_start,
        count(case when mrr_previous > 0 then 1 end) as customers_start,
        count(case when mrr > 0 then 1 end) as customers_end,
        count(case when movement = 'new' then 1 end) as new_customers,
        count(case when movement = 'reactivation' then 1 end) as reactivated_customers,
        count(case when movement = 'churn' then 1 end) as churned_customers,
        count(case when movement = 'expansion' then 1 end) as expanded_customers,
        count(case when movement = 'contraction' then 1 end) as contracted_customers,
        sum(mrr_previous) as mrr_start,
        sum(mrr) as mrr_end,
        sum(case when movement = 'new' then mrr_change else 0 end) as new_mrr,
        sum(case when movement = 'expansion' then mrr_change else 0 end) as expansion_mrr,
        sum(case when movement = 'reactivation' then mrr_change else 0 end) as reactivation_mrr,
        sum(case when movement = 'contraction' then -mrr_change else 0 end) as contraction_mrr,
        sum(case when movement = 'churn' then -mrr_change else 0 end) as churned_mrr,
        count(case when churn_type = 'voluntary' then 1 end) as voluntary_churned_customers,
        count(case when churn_type = 'involuntary' then 1 end) as involuntary_churned_customers,
        sum(case when churn_type = 'voluntary' then -mrr_change else 0 end)
            as voluntary_churned_mrr,
        sum(case when churn_type = 'involuntary' then -mrr_change else 0 end)
            as involuntary_churned_mrr

    from movements
    group by month_start

),

-- subscriptions paying at the end of M - 1, and those of them canceled at the end of M
subscriptions as (

    select
        months.month_start,
        count(*) as subscriptions_start,
        count(case when current_state.status = 'canceled' then 1 end) as subscriptions_canceled

    from month_end as previous_state
    inner join months on previous_state.month_start = months.previous_month_start
    inner join month_end as current_state
        on
            previous_state.subscription_id = current_state.subscription_id
            and months.month_start = current_state.month_start
    where previous_state.mrr > 0
    group by months.month_start

),

-- paid inside the month but never at a month end: the month-end convention's blind spot
paid_and_left as (

    select
        months.month_start,
        count(distinct periods.customer_id) as customers_paid_and_left

    from periods
    inner join months
        on
            periods.valid_from >= cast(months.month_start as timestamp)
            and periods.valid_from < months.next_month_start_at
    left join movements
        on
            periods.customer_id = movements.customer_id
            and months.month_start = movements.month_start
    where
        periods.mrr > 0
        and periods.valid_to < months.next_month_start_at
        and movements.customer_id is null
    group by months.month_start

),

combined as (

    select
        report_months.month_start,
        coalesce(by_month.customers_start, 0) as customers_start,
        coalesce(by_month.customers_end, 0) as customers_end,
        coalesce(by_month.new_customers, 0) as new_customers,
        coalesce(by_month.reactivated_customers, 0) as reactivated_customers,
        coalesce(by_month.churned_customers, 0) as churned_customers,
        coalesce(by_month.expanded_customers, 0) as expanded_customers,
        coalesce(by_month.contracted_customers, 0) as contracted_customers,
        {{ money('coalesce(by_month.mrr_start, 0)') }} as mrr_start,
        {{ money('coalesce(by_month.mrr_end, 0)') }} as mrr_end,
        {{ money('coalesce(by_month.new_mrr, 0)') }} as new_mrr,
        {{ money('coalesce(by_month.expansion_mrr, 0)') }} as expansion_mrr,
        {{ money('coalesce(by_month.reactivation_mrr, 0)') }} as reactivation_mrr,
        {{ money('coalesce(by_month.contraction_mrr, 0)') }} as contraction_mrr,
        {{ money('coalesce(by_month.churned_mrr, 0)') }} as churned_mrr,
        coalesce(by_month.voluntary_churned_customers, 0) as voluntary_churned_customers,
        coalesce(by_month.involuntary_churned_customers, 0) as involuntary_churned_customers,
        {{ money('coalesce(by_month.voluntary_churned_mrr, 0)') }} as voluntary_churned_mrr,
        {{ money('coalesce(by_month.involuntary_churned_mrr, 0)') }} as involuntary_churned_mrr,
        coalesce(subscriptions.subscriptions_start, 0) as subscriptions_start,
        coalesce(subscriptions.subscriptions_canceled, 0) as subscriptions_canceled,
        coalesce(paid_and_left.customers_paid_and_left, 0) as customers_paid_and_left

    from report_months
    left join by_month on report_months.month_start = by_month.month_start
    left join subscriptions on report_months.month_start = subscriptions.month_start
    left join paid_and_left on report_months.month_start = paid_and_left.month_start

),

-- the formula CLV's inputs are trailing-window ratios (metric contract, CLV; macros/formula_ltv)
rated as (

    select
        combined.*,
        {{ money('12 * mrr_end') }} as arr_end,
        {{ safe_divide('churned_customers', 'customers_start') }} as logo_churn_rate,
        {{ safe_divide('churned_customers', 'customers_start + new_customers') }}
            as logo_churn_rate_incl_new,
        {{ safe_divide('churned_mrr + contraction_mrr', 'mrr_start') }} as gross_mrr_churn_rate,
        {{ safe_divide(
            'churned_mrr + contraction_mrr - expansion_mrr - reactivation_mrr', 'mrr_start'
        ) }} as net_mrr_churn_rate,
        {{ safe_divide(
            'mrr_start + expansion_mrr - contraction_mrr - churned_mrr', 'mrr_start'
        ) }} as net_revenue_retention,
        {{ safe_divide('mrr_start - contraction_mrr - churned_mrr', 'mrr_start') }}
            as gross_revenue_retention,
        {{ safe_divide('mrr_end', 'customers_end') }} as arpa,
        {{ safe_divide(
            'new_mrr + expansion_mrr + reactivation_mrr', 'contraction_mrr + churned_mrr'
        ) }} as quick_ratio,
        {{ safe_divide('subscriptions_canceled', 'subscriptions_start') }}
            as subscription_churn_rate,
        {{ trailing_arpa() }} as trailing_arpa,
        {{ trailing_logo_churn_rate() }} as trailing_logo_churn_rate

    from combined

),

lifetimes as (

    select
        rated.*,
        {{ expected_lifetime_months('trailing_logo_churn_rate') }} as expected_lifetime_months

    from rated

),

final as (

    select
        lifetimes.*,
        {{ formula_ltv('trailing_arpa', 'expected_lifetime_months') }} as formula_ltv

    from lifetimes

)

select * from final
