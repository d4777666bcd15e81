{#- The subscribers whose next best action (next_best_action) is `action`: one audience per action. -#}
{% macro next_best_action_audience(action) -%}
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
    where action = '{{ action }}'

)

select * from final
{%- endmacro %}
