{#- The first day of the UTC month of a timestamp or date, as a date. -#}
{% macro month_start(expr) -%}
    cast({{ dbt.date_trunc('month', expr) }} as date)
{%- endmacro %}
