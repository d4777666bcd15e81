with

source as (

    select * from {{ billing_table('payments') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy delivered last wins (a later day folder,
        -- then the file name sorting last), then the later row of that file
        row_number() over (
            partition by payment_id
            order by {{ latest_delivery_first() }}
        ) as copy_rank
    from source

),

final as (

    select
        payment_id,
        invoice_id,
        customer_id,
        attempted_at,
        amount,
        currency,
        status,
        failure_reason
    from ranked
    where copy_rank = 1

)

select * from final
