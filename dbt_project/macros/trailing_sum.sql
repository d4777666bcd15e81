{#- Sum of a column over the trailing CLV window ending at this month (var clv_trailing_months). -#}
{% macro trailing_sum(column) -%}
    sum({{ column }}) over (
        order by month_start
        rows between {{ var('clv_trailing_months') - 1 }} preceding and current row
    )
{%- endmacro %}
