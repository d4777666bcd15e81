with

bounds as (

    select * from {{ ref('int_calendar__bounds') }}

),

spine as (

    {{ date_series('first_date', 'last_date', 'month', 'month_start', 'bounds') }}

),

final as (

    select
        month_start,
        cast({{ dbt.dateadd('month', -1, 'month_start') }} as date) as previous_month_start,
        cast({{ dbt.dateadd('month', 1, 'month_start') }} as date) as next_month_start,
        cast({{ dbt.dateadd('month', 1, 'month_start') }} as timestamp) as next_month_start_at,
        cast({{ dbt.last_day('month_start', 'month') }} as date) as month_end_date

    from spine

)

select * from final
