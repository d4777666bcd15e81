with

source as (

    select * from {{ billing_table('subscription_events') }}

),

deliveries as (

    select
        *,
        -- an event delivered more than once: the copy delivered last wins (a later day
        -- folder, then the file name sorting last), then the later row of that file
        row_number() over (
            partition by event_id
            order by {{ latest_delivery_first() }}
        ) as copy_rank,
        count(*) over (partition by event_id) as delivery_count
    from source

),

distinct_copies as (

    -- identical deliveries collapse to one row here (select distinct treats nulls as equal)
    select distinct
        event_id,
        subscription_id,
        customer_id,
        event_type,
        status,
        occurred_at,
        plan_id,
        quantity,
        unit_amount,
        discount_pct,
        currency,
        cancel_reason
    from source

),

copies_per_event as (

    select
        event_id,
        count(*) as distinct_copies
    from distinct_copies
    group by event_id

),

final as (

    select
        deliveries.event_id,
        deliveries.subscription_id,
        deliveries.customer_id,
        deliveries.event_type,
        deliveries.status,
        deliveries.occurred_at,
        deliveries.plan_id,
        deliveries.quantity,
        deliveries.unit_amount,
        deliveries.discount_pct,
        deliveries.currency,
        deliveries.cancel_reason,
        deliveries._source_file as source_file,
        deliveries.delivery_count,
        copies_per_event.distinct_copies > 1 as has_conflicting_copies
    from deliveries
    inner join copies_per_event
        on deliveries.event_id = copies_per_event.event_id
    where deliveries.copy_rank = 1

)

select * from final
