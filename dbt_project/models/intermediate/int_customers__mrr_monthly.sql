with

month_end as (

    select * from {{ ref('int_subscriptions__month_end') }}

),

final as (

    select
        customer_id,
        month_start,
        cast(round(sum(mrr), 2) as decimal(18, 2)) as mrr,
        count(*) as paying_subscriptions

    from month_end
    where mrr > 0
    group by customer_id, month_start
    having round(sum(mrr), 2) > 0

)

select * from final
