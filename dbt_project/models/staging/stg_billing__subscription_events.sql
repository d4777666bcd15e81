{%- set event_columns = [
    'event_id', 'subscription_id', 'customer_id', 'event_type', 'status', 'occurred_at',
    'plan_id', 'quantity', 'unit_amount', 'discount_pct', 'currency', 'cancel_reason',
] -%}

with

source as (

    select * from {{ billing_table('subscription_events') }}

),

delivered_more_than_once as (

    select
        event_id,
        count(*) as delivery_count
    from source
    group by event_id
    having count(*) > 1

),

-- most events arrive once: only the re-delivered ones are ranked and compared, as ranking and
-- comparing every row took most of this model's time at 1M customers
single_copies as (

    select
        {{ event_columns | join(', ') }},
        _source_file as source_file,
        cast(1 as {{ dbt.type_bigint() }}) as delivery_count,
        false as has_conflicting_copies
    from source
    where not exists (
        select 1 from delivered_more_than_once
        where delivered_more_than_once.event_id = source.event_id
    )

),

redelivered as (

    select
        source.*,
        delivered_more_than_once.delivery_count
    from source
    inner join delivered_more_than_once
        on source.event_id = delivered_more_than_once.event_id

),

distinct_copies as (

    -- identical deliveries collapse to one row here (select distinct treats nulls as equal)
    select distinct {{ event_columns | join(', ') }}
    from redelivered

),

copies_per_event as (

    select
        event_id,
        count(*) as distinct_copies
    from distinct_copies
    group by event_id

),

latest_copies as (

    select
        redelivered.*,
        copies_per_event.distinct_copies > 1 as has_conflicting_copies,
        -- an event delivered more than once: the copy delivered last wins (a later day
        -- folder, then the file name sorting last), then the later row of that file
        row_number() over (
            partition by redelivered.event_id
            order by {{ latest_delivery_first() }}
        ) as copy_rank
    from redelivered
    inner join copies_per_event
        on redelivered.event_id = copies_per_event.event_id

),

final as (

    select * from single_copies

    union all

    select
        {{ event_columns | join(', ') }},
        _source_file as source_file,
        delivery_count,
        has_conflicting_copies
    from latest_copies
    where copy_rank = 1

)

select * from final
