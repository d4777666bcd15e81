{#-
    Every landed Stripe row the mapping leaves out, with why (a superseded sync, a test-mode
    object, an item or line without a price, a credit, a pending charge…): with the rows the
    loader quarantined (raw.rejected_rows), read = mapped + quarantined for every Stripe table.
-#}
{% set tables = [
    'customer', 'product', 'price', 'coupon', 'subscription', 'subscription_item', 'discount',
    'invoice', 'invoice_line_item', 'charge', 'refund',
] %}

with

{% for table in tables %}
    {{ table }}_rows as (

        select
            '{{ table }}' as staged_table,
            _source_file as source_file,
            _source_row as source_row,
            rejection_reason as reason

        from {{ ref('stg_stripe__' ~ table) }}
        where rejection_reason is not null

    ),
{% endfor %}

final as (

    {% for table in tables %}
        select * from {{ table }}_rows
        {{ 'union all' if not loop.last }}
    {% endfor %}

)

select * from final
