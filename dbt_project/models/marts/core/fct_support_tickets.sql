with

tickets as (

    select * from {{ ref('stg_support__tickets') }}

),

durations as (

    select
        tickets.*,
        {{ dbt.datediff('opened_at', 'resolved_at', 'second') }}
            as resolution_seconds

    from tickets

),

final as (

    select
        ticket_id,
        customer_id,
        opened_at,
        {{ month_start('opened_at') }} as opened_month,
        resolved_at,
        channel,
        priority,
        category,
        satisfaction_score,
        resolved_at is not null as is_resolved,
        -- a double division on every engine (3600.0 is a decimal on Spark)
        cast(resolution_seconds as double) / 3600 as resolution_hours,
        coalesce(satisfaction_score <= 2, false) as is_low_satisfaction

    from durations

)

select * from final
