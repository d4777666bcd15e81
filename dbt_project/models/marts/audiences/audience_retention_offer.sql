{#- The subscribers whose next best action is the retention offer (next_best_action). -#}
with

actions as (

    select * from {{ ref('next_best_action') }}

),

final as (

    select
        customer_id,
        reason,
        email_hash,
        is_email_opt_in,
        is_sms_opt_in,
        preferred_channel

    from actions
    where action = 'retention_offer'

)

select * from final
