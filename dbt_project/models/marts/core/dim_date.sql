with

bounds as (

    select * from {{ ref('int_calendar__bounds') }}

),

spine as (

    {{ date_series('first_date', 'last_date', 'day', 'date_day', 'bounds') }}

),

final as (

    select
        date_day,
        {{ month_start('date_day') }} as month_start,
        cast({{ date_part_number('year', 'date_day') }} as integer) as year_number,
        cast({{ date_part_number('month', 'date_day') }} as integer) as month_number,
        cast({{ date_part_number('day', 'date_day') }} as integer) as day_of_month,
        date_day = cast({{ dbt.last_day('date_day', 'month') }} as date) as is_month_end

    from spine

)

select * from final
