{#- A ratio that is null, not an error, when the denominator is 0 (metric contract: rates). -#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif({{ denominator }}, 0)
{%- endmacro %}
