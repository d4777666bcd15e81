{#- The columns every audience_<name> mart ends with, from a dim_subscribers relation. -#}
{% macro audience_columns(subscribers='subscribers') -%}
    {{ subscribers }}.email_hash,
    coalesce({{ subscribers }}.email_opt_in, false) as is_email_opt_in,
    coalesce({{ subscribers }}.sms_opt_in, false) as is_sms_opt_in,
    {{ preferred_channel(subscribers ~ '.email_opt_in', subscribers ~ '.sms_opt_in') }}
        as preferred_channel
{%- endmacro %}
