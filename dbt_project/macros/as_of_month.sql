{#- The as-of month of the subscription metrics (metric contract): one row, `as_of_month`. -#}
{% macro as_of_month() -%}
    select subscriptions_as_of_month as as_of_month from {{ ref('int_as_of') }}
{%- endmacro %}
