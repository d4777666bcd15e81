with

source as (

    select * from {{ billing_table('invoices') }}

),

ranked as (

    select
        *,
        -- the latest updated_at wins; on a tie, the copy from the file whose name sorts last,
        -- then the later row of that file
        row_number() over (
            partition by invoice_id
            order by updated_at desc, _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        invoice_id,
        customer_id,
        subscription_id,
        issued_at,
        period_start,
        period_end,
        subtotal,
        discount_amount,
        tax_amount,
        total,
        currency,
        status,
        updated_at
    from ranked
    where copy_rank = 1

)

select * from final
