-- MetricFlow's time spine: one row per UTC day (cross-database date_spine, so it also runs on
-- Spark). Offsets, cumulative metrics and join_to_timespine join to it.
with

spine as (

    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2051-01-01' as date)") }}

),

final as (

    select cast(date_day as date) as date_day

    from spine

)

select * from final
