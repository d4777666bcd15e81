with

month_end as (

    select * from {{ ref('int_subscriptions__month_end') }}

),

customer_mrr as (

    select * from {{ ref('int_customers__mrr_monthly') }}

),

customers as (

    select * from {{ ref('stg_billing__customers') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

as_of as (

    select max(month_start) as as_of_month from month_end

),

paying_subscriptions as (

    select
        customer_id,
        month_start,
        plan_id,
        tier,
        case
            when interval_count = 1 then billing_interval
            else {{ dbt.concat(["cast(interval_count as " ~ dbt.type_string() ~ ")",
                                "'-'", "billing_interval"]) }}
        end as billing_interval,
        currency,
        mrr

    from month_end
    where mrr > 0

),

paying_customers as (

    select
        customer_mrr.customer_id,
        customer_mrr.month_start,
        coalesce(customers.country, 'unknown') as country,
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
        customer_mrr.mrr

    from customer_mrr
    left join customers on customer_mrr.customer_id = customers.customer_id

),

segment_rows as (

    {% for segment in ['plan_id', 'tier', 'billing_interval', 'currency'] %}
        select
            '{{ segment }}' as segment_type,
            {{ segment }} as segment_value,
            customer_id,
            month_start,
            mrr
        from paying_subscriptions
        union all
    {% endfor %}
    {% for segment in ['country', 'acquisition_channel'] %}
        select
            '{{ segment }}' as segment_type,
            {{ segment }} as segment_value,
            customer_id,
            month_start,
            mrr
        from paying_customers
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

-- a customer's MRR inside one segment value: movements are classified within the segment
segment_mrr as (

    select
        segment_type,
        segment_value,
        customer_id,
        month_start,
        cast(round(sum(mrr), 2) as decimal(18, 2)) as mrr

    from segment_rows
    group by segment_type, segment_value, customer_id, month_start
    having round(sum(mrr), 2) > 0

),

compared as (

    {{ compare_month_ends('segment_mrr', ['segment_type', 'segment_value', 'customer_id']) }}

),

classified as (

    select
        compared.*,
        mrr - mrr_previous as mrr_change,
        {{ mrr_movement('mrr_previous', 'mrr', 'month_start', 'first_paid_month') }} as movement

    from compared

),

final as (

    select
        month_start,
        segment_type,
        segment_value,
        count(case when mrr > 0 then 1 end) as customers,
        {{ money('sum(mrr)') }} as mrr,
        {{ money('sum(mrr_previous)') }} as mrr_previous,
        count(case when movement = 'new' then 1 end) as new_customers,
        count(case when movement = 'churn' then 1 end) as churned_customers,
        {{ money(
            "sum(case when movement = 'new' then mrr_change else 0 end)"
        ) }} as new_mrr,
        {{ money(
            "sum(case when movement = 'expansion' then mrr_change else 0 end)"
        ) }} as expansion_mrr,
        {{ money(
            "sum(case when movement = 'reactivation' then mrr_change else 0 end)"
        ) }} as reactivation_mrr,
        {{ money(
            "sum(case when movement = 'contraction' then -mrr_change else 0 end)"
        ) }} as contraction_mrr,
        {{ money(
            "sum(case when movement = 'churn' then -mrr_change else 0 end)"
        ) }} as churned_mrr

    from classified
    group by month_start, segment_type, segment_value

)

select * from final
