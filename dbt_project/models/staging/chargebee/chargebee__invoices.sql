{#- The raw contract's invoices: discount_amount = sub_total + tax - total. -#}
with

invoices as (

    select * from {{ ref('stg_chargebee__invoice') }}
    where rejection_reason is null

),

final as (

    select
        invoice_id,
        customer_id,
        subscription_id,
        issued_at,
        case when subscription_id is not null then cast(period_from as date) end as period_start,
        case
            when subscription_id is not null
                then cast({{ dbt.dateadd('second', -1, 'period_to') }} as date)
        end as period_end,
        sub_total as subtotal,
        sub_total + tax - total as discount_amount,
        tax as tax_amount,
        total,
        currency,
        status,
        updated_at,
        _source_file,
        _source_row

    from invoices

)

select * from final
