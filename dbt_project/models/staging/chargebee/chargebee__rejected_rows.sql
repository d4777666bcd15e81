{#-
    Every landed Chargebee object the mapping leaves out, with why (a superseded copy, an event
    out of order, another object's event, a transaction that is no payment…): with the lines the
    loader quarantined (raw.rejected_rows), read = mapped + quarantined for every object.
-#}
{% set tables = ['customer', 'item', 'item_price', 'coupon', 'event', 'invoice', 'transaction'] %}

with

{% for table in tables %}
    {{ table }}_rows as (

        select
            '{{ table }}' as staged_table,
            _source_file as source_file,
            _source_row as source_row,
            rejection_reason as reason

        from {{ ref('stg_chargebee__' ~ table) }}
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
