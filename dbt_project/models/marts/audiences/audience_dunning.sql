with

invoices as (

    select * from {{ ref('fct_invoices') }}

),

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

open_failed as (

    select
        customer_id,
        count(*) as open_invoices,
        sum(total_reporting) as amount_due,
        sum(failed_payment_attempts) as failed_attempts

    from invoices
    where status = 'open' and failed_payment_attempts > 0
    group by customer_id

),

final as (

    select
        open_failed.customer_id,
        {{ dbt.concat([
            as_text('open_failed.open_invoices'), "' open invoice(s), '",
            as_text('open_failed.failed_attempts'), "' failed payment attempt(s), '",
            as_text(money('open_failed.amount_due')), "' due'",
        ]) }} as reason,
        {{ audience_columns() }}

    from open_failed
    inner join subscribers on open_failed.customer_id = subscribers.customer_id

)

select * from final
