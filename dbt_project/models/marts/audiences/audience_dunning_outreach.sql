{#- The subscribers whose next best action is the dunning outreach (next_best_action). -#}
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
    where action = 'dunning_outreach'

)

select * from final
