with

movements as (

    select * from {{ ref('fct_customer_mrr_monthly') }}

),

final as (

    select
        month_start,
        churn_type,
        churn_reason,
        count(*) as churned_customers,
        {{ money('sum(-mrr_change)') }} as churned_mrr

    from movements
    where movement = 'churn'
    group by month_start, churn_type, churn_reason

)

select * from final
