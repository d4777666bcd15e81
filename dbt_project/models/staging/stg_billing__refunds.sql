with

source as (

    select * from {{ billing_table('refunds') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by refund_id
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        refund_id,
        payment_id,
        customer_id,
        refunded_at,
        amount,
        currency,
        reason
    from ranked
    where copy_rank = 1

)

select * from final
