-- The campaign audiences as one relation, for the semantic layer's audience sizes: one row per
-- audience × customer, with the as-of date (the audience marts are as of the latest event).
{% set audiences = var('campaign_audiences') %}

with

{% for audience in audiences %}
    audience_{{ audience }} as (

        select * from {{ ref('audience_' ~ audience) }}

    ),

{% endfor %}

subscribers as (

    select * from {{ ref('dim_subscribers') }}

),

as_of as (

    select cast(max(as_of_at) as date) as as_of_date from subscribers

),

members as (

    {% for audience in audiences %}
        select
            '{{ audience }}' as audience,
            customer_id,
            preferred_channel,
            is_email_opt_in,
            is_sms_opt_in
        from audience_{{ audience }}
        {{ 'union all' if not loop.last }}
    {% endfor %}

),

final as (

    select
        members.audience,
        members.customer_id,
        members.preferred_channel,
        members.is_email_opt_in,
        members.is_sms_opt_in,
        as_of.as_of_date

    from members
    cross join as_of

)

select * from final
