{{ config(schema='marts', materialized='table') }}
{#-
    Per Stripe table: the rows loaded (raw_stripe.<table>, after the loader's own quarantine),
    the rows the mapping read (mapped) and those it left out with a reason
    (stripe__rejected_rows). A dbt test holds loaded = mapped + quarantined.
-#}
{% set tables = {
    'customer': ['customer'], 'product': ['product'], 'price': ['price', 'plan'],
    'coupon': ['coupon'], 'subscription': ['subscription_history', 'subscription'],
    'subscription_item': ['subscription_item'],
    'discount': ['discount', 'subscription_discount'], 'invoice': ['invoice'],
    'invoice_line_item': ['invoice_line_item'], 'charge': ['charge'], 'refund': ['refund'],
} %}

with

staged as (

    {% for table in tables %}
        select
            '{{ table }}' as staged_table,
            count(*) as rows_staged,
            count(rejection_reason) as rows_quarantined
        from {{ ref('stg_stripe__' ~ table) }}
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

loaded as (

    {% for table, raw_tables in tables.items() %}
        select
            '{{ table }}' as staged_table,
            {% for raw in raw_tables %}
                (select count(*) from {{ source('stripe', raw) }})
                {{ '+' if not loop.last }}
            {% endfor %} as rows_loaded
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

final as (

    select
        'stripe' as billing_source,
        staged.staged_table,
        loaded.rows_loaded,
        staged.rows_staged - staged.rows_quarantined as rows_mapped,
        staged.rows_quarantined

    from staged
    inner join loaded on staged.staged_table = loaded.staged_table

)

select * from final
