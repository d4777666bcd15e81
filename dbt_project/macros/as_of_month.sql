{#-
    The as-of month (metric contract): the month of the latest occurred_at in
    subscription_events, read from a CTE of int_subscriptions__state_periods.
-#}
{% macro as_of_month(periods='periods') -%}
    select {{ month_start('max(valid_from)') }} as as_of_month from {{ periods }}
{%- endmacro %}
