with

source as (

    select * from {{ billing_table('payments') }}

),

delivered_more_than_once as (

    select payment_id
    from source
    group by payment_id
    having count(*) > 1

),

-- most payments arrive once: only the re-delivered ones are ranked (stg_product__usage_events)
single_copies as (

    select *
    from source
    where not exists (
        select 1 from delivered_more_than_once
        where delivered_more_than_once.payment_id = source.payment_id
    )

),

ranked_copies as (

    select
        *,
        -- a key delivered more than once: the copy delivered last wins (a later day folder,
        -- then the file name sorting last), then the later row of that file
        row_number() over (
            partition by payment_id
            order by {{ latest_delivery_first() }}
        ) as copy_rank
    from source
    where exists (
        select 1 from delivered_more_than_once
        where delivered_more_than_once.payment_id = source.payment_id
    )

),

latest_copies as (

    {%- set payment_columns = [
        'payment_id', 'invoice_id', 'customer_id', 'attempted_at', 'amount', 'currency',
        'status', 'failure_reason',
    ] %}

    select {{ payment_columns | join(', ') }} from single_copies
    union all
    select {{ payment_columns | join(', ') }} from ranked_copies
    where copy_rank = 1

),

final as (

    select * from latest_copies

)

select * from final
