with

source as (

    select * from {{ billing_table('plans') }}

),

ranked as (

    select
        *,
        -- a key delivered more than once: the copy from the file whose name sorts last wins,
        -- then the later row of that file
        row_number() over (
            partition by plan_id, updated_at
            order by _source_file desc, _source_row desc
        ) as copy_rank
    from source

),

final as (

    select
        plan_id,
        product,
        plan_name,
        tier,
        billing_interval,
        interval_count,
        unit_amount,
        currency,
        trial_days,
        updated_at
    from ranked
    where copy_rank = 1

)

select * from final
