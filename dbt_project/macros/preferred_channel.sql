{#-
    The channel a campaign uses for a customer: e-mail when they opted in to it, else SMS when
    they opted in to that, else none. No recorded preference counts as no consent.
-#}
{% macro preferred_channel(email_opt_in, sms_opt_in) -%}
    case
        when coalesce({{ email_opt_in }}, false) then 'email'
        when coalesce({{ sms_opt_in }}, false) then 'sms'
        else 'none'
    end
{%- endmacro %}
