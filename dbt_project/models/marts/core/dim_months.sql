with

spine as (

    {{ dbt.date_spine('month', "cast('2000-01-01' as date)", "cast('2051-01-01' as date)") }}

),

final as (

    select
        cast(date_month as date) as month_start,
        cast({{ dbt.dateadd('month', -1, 'date_month') }} as date) as previous_month_start,
        cast({{ dbt.dateadd('month', 1, 'date_month') }} as date) as next_month_start,
        cast({{ dbt.dateadd('month', 1, 'date_month') }} as timestamp) as next_month_start_at,
        cast({{ dbt.last_day('date_month', 'month') }} as date) as month_end_date

    from spine

)

select * from final
