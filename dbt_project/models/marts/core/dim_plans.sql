with

plans as (

    select * from {{ ref('int_plans__versioned') }}

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
        -- amounts in the plan's own currency keep the raw scale: 3-decimal currencies (BHD, KWD)
        cast(unit_amount as decimal(18, 4)) as unit_amount,
        currency,
        trial_days,
        valid_from,
        valid_to,
        -- the open-ended version (valid_to 9999-12-31) is the one in force now
        valid_to = cast('9999-12-31' as timestamp) as is_current_version,
        monthly_factor

    from plans

)

select * from final
