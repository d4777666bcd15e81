with

plans as (

    select * from {{ ref('stg_billing__plans') }}

),

versioned as (

    select
        plans.*,
        -- bigint on every engine (Spark's row_number() is an int)
        cast(row_number() over (partition by plan_id order by updated_at) as bigint)
            as version_number,
        lead(updated_at) over (partition by plan_id order by updated_at) as next_version_at

    from plans

),

final as (

    select
        plan_id,
        version_number,
        product,
        plan_name,
        tier,
        billing_interval,
        interval_count,
        unit_amount,
        currency,
        trial_days,
        updated_at,
        -- before its first version a plan is in its first version (raw contract)
        case
            when version_number = 1 then cast('0001-01-01' as timestamp)
            else updated_at
        end as valid_from,
        coalesce(next_version_at, cast('9999-12-31' as timestamp)) as valid_to,
        {{ monthly_factor('billing_interval', 'interval_count') }} as monthly_factor

    from versioned

)

select * from final
