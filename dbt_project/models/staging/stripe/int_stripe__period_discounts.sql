{#-
    The discount of each billed period of a subscription item (docs/sources/stripe.md, Coupons):
    a coupon discounts the invoices it is applied to, so its share of MRR is that of the periods
    those invoices bill, whatever calendar month it was applied in:
    - once: the first period line that starts at or after the discount's start;
    - repeating: period lines starting in [start, end), end = the discount's own end, else start
      + duration_in_months;
    - forever: period lines starting at or after the start (until the discount's end, if it was
      removed).
    percent_off adds up (at most 100); amount_off is that share of the invoice's subscription
    lines. Period lines of void and draft invoices bill nothing and are not read.
-#}
with

lines as (

    select * from {{ ref('stg_stripe__invoice_line_item') }}
    where
        rejection_reason is null
        and line_type = 'subscription'
        and not is_proration
        and subscription_item_id is not null
        and invoice_status not in ('void', 'draft')

),

discounts as (

    select * from {{ ref('stg_stripe__discount') }}
    where rejection_reason is null

),

coupons as (

    select * from {{ ref('stg_stripe__coupon') }}
    where rejection_reason is null

),

invoice_totals as (

    select
        invoice_id,
        sum(amount) as subscription_amount

    from lines
    group by invoice_id

),

candidates as (

    select
        lines.line_id,
        lines.invoice_id,
        lines.period_start,
        discounts.discount_id,
        coupons.duration,
        coupons.percent_off,
        coupons.amount_off,
        coalesce(
            discounts.ends_at,
            case
                when coupons.duration = 'repeating'
                    then {{ dbt.dateadd(
                        'month', 'coalesce(coupons.duration_in_months, 1)', 'discounts.starts_at'
                    ) }}
            end
        ) as ends_at,
        -- once discounts the first period's every line (a plan and its add-ons share the
        -- invoice): a rank, as row_number would discount one of them only
        rank() over (
            partition by discounts.discount_id order by lines.period_start
        ) as period_number

    from lines
    inner join discounts
        on
            lines.subscription_id = discounts.subscription_id
            and lines.period_start >= discounts.starts_at
    inner join coupons on discounts.coupon_id = coupons.coupon_id

),

applied as (

    select * from candidates
    where
        (duration = 'once' and period_number = 1)
        or (duration <> 'once' and (ends_at is null or period_start < ends_at))

),

final as (

    select
        applied.line_id,
        least(
            100,
            coalesce(sum(applied.percent_off), 0)
            + coalesce(
                100.0 * sum(applied.amount_off)
                / nullif(max(invoice_totals.subscription_amount), 0),
                0
            )
        ) as discount_pct

    from applied
    inner join invoice_totals on applied.invoice_id = invoice_totals.invoice_id
    group by applied.line_id

)

select * from final
