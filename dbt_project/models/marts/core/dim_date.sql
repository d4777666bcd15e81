with

spine as (

    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2051-01-01' as date)") }}

),

final as (

    select
        cast(date_day as date) as date_day,
        {{ month_start('date_day') }} as month_start,
        cast({{ date_part_number('year', 'date_day') }} as integer) as year_number,
        cast({{ date_part_number('month', 'date_day') }} as integer) as month_number,
        cast({{ date_part_number('day', 'date_day') }} as integer) as day_of_month,
        cast(date_day as date) = cast({{ dbt.last_day('date_day', 'month') }} as date)
            as is_month_end

    from spine

)

select * from final
