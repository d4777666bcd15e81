-- MetricFlow's time spine: one row per UTC day of the calendar (dim_date: from the data).
-- Offsets, cumulative metrics and join_to_timespine join to it.
with

days as (

    select * from {{ ref('dim_date') }}

),

final as (

    select date_day

    from days

)

select * from final
