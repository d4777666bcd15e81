{#-
    Incremental by day (the usage table grows by millions of rows): a run rebuilds the days from
    incremental_window_start() on and keeps older days. DuckDB replaces those days with
    delete+insert keyed by usage_date; Spark overwrites their partitions (insert_overwrite needs
    partition_by there), so the same model runs on both.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite' if target.type == 'spark' else 'delete+insert',
        unique_key=none if target.type == 'spark' else 'usage_date',
        partition_by=['usage_date'] if target.type == 'spark' else none,
        on_schema_change='fail',
    )
}}

-- depends_on: {{ source('raw', 'usage_events') }}

with

usage_events as (

    select * from {{ ref('stg_product__usage_events') }}
    {% if is_incremental() %}
        where
            cast(occurred_at as date) >= {{ incremental_window_start(
                'usage_date', source('raw', 'usage_events'), 'cast(occurred_at as date)'
            ) }}
    {% endif %}

),

final as (

    select
        customer_id,
        cast(occurred_at as date) as usage_date,
        event_name,
        count(*) as event_count,
        -- the raw contract reads a null quantity as 1
        cast(sum(coalesce(quantity, 1)) as decimal(28, 8)) as total_quantity,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at

    from usage_events
    group by customer_id, cast(occurred_at as date), event_name

)

select * from final
