{#-
    Sum of a column over the trailing CLV window ending at this month (var clv_trailing_months),
    per partition_by (e.g. 'acquisition_channel') when given: one row per month in each.
-#}
{% macro trailing_sum(column, partition_by=none) -%}
    sum({{ column }}) over (
        {% if partition_by %}partition by {{ partition_by }}
        {% endif %}order by month_start
        rows between {{ var('clv_trailing_months') - 1 }} preceding and current row
    )
{%- endmacro %}
