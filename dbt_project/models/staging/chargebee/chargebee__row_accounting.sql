{{ config(schema='marts', materialized='table') }}
{#-
    Per Chargebee object: the lines loaded (raw_chargebee.<object>, after the loader's own
    quarantine), those the mapping read (mapped) and those it left out with a reason
    (chargebee__rejected_rows). A dbt test holds loaded = mapped + quarantined. The
    subscription and credit_note objects are not read: the event log and transactions say it all.
-#}
{% set tables = ['customer', 'item', 'item_price', 'coupon', 'event', 'invoice', 'transaction'] %}

with

staged as (

    {% for table in tables %}
        select
            '{{ table }}' as staged_table,
            count(*) as rows_staged,
            count(rejection_reason) as rows_quarantined
        from {{ ref('stg_chargebee__' ~ table) }}
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

loaded as (

    {% for table in tables %}
        select
            '{{ table }}' as staged_table,
            (select count(*) from {{ source('chargebee', table) }}) as rows_loaded
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

final as (

    select
        'chargebee' as billing_source,
        staged.staged_table,
        loaded.rows_loaded,
        staged.rows_staged - staged.rows_quarantined as rows_mapped,
        staged.rows_quarantined

    from staged
    inner join loaded on staged.staged_table = loaded.staged_table

)

select * from final
