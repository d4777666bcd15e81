with

usage_events as (

    select * from {{ ref('stg_product__usage_events') }}

),

final as (

    select
        customer_id,
        cast(occurred_at as date) as usage_date,
        event_name,
        count(*) as event_count,
        -- the raw contract reads a null quantity as 1
        cast(sum(coalesce(quantity, 1)) as decimal(28, 8)) as total_quantity,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at

    from usage_events
    group by customer_id, cast(occurred_at as date), event_name

)

select * from final
