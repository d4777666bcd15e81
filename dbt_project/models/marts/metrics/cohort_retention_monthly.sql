with

customer_mrr as (

    select * from {{ ref('int_customers__mrr_monthly') }}

),

months as (

    select * from {{ ref('dim_months') }}

),

as_of as (

    {{ as_of_month() }}

),

-- reactivated customers stay in their first cohort (metric contract, Cohorts)
first_paid as (

    select
        customer_id,
        min(month_start) as cohort_month

    from customer_mrr
    group by customer_id

),

members as (

    select
        first_paid.customer_id,
        first_paid.cohort_month,
        customer_mrr.mrr as starting_mrr

    from first_paid
    inner join customer_mrr
        on
            first_paid.customer_id = customer_mrr.customer_id
            and first_paid.cohort_month = customer_mrr.month_start

),

cohorts as (

    select
        cohort_month,
        count(*) as cohort_customers,
        sum(starting_mrr) as cohort_starting_mrr

    from members
    group by cohort_month

),

grid as (

    select
        cohorts.*,
        months.month_start,
        {{ dbt.datediff('cohorts.cohort_month', 'months.month_start', 'month') }}
            as months_since_start

    from cohorts
    inner join months on cohorts.cohort_month <= months.month_start
    cross join as_of
    where months.month_start <= as_of.as_of_month

),

retained as (

    select
        members.cohort_month,
        customer_mrr.month_start,
        count(*) as retained_customers,
        sum(customer_mrr.mrr) as retained_mrr

    from members
    inner join customer_mrr on members.customer_id = customer_mrr.customer_id
    group by members.cohort_month, customer_mrr.month_start

),

final as (

    select
        grid.cohort_month,
        cast(grid.months_since_start as integer) as months_since_start,
        grid.month_start,
        grid.cohort_customers,
        coalesce(retained.retained_customers, 0) as retained_customers,
        {{ safe_divide('coalesce(retained.retained_customers, 0)', 'grid.cohort_customers') }}
            as logo_retention,
        {{ money('grid.cohort_starting_mrr') }} as cohort_starting_mrr,
        {{ money('coalesce(retained.retained_mrr, 0)') }} as retained_mrr,
        {{ safe_divide('coalesce(retained.retained_mrr, 0)', 'grid.cohort_starting_mrr') }}
            as revenue_retention

    from grid
    left join retained
        on
            grid.cohort_month = retained.cohort_month
            and grid.month_start = retained.month_start

)

select * from final
