{#- Amounts in marts are cents in the reporting currency: one type on every engine. -#}
{% macro money(expr) -%}
    cast({{ expr }} as decimal(18, 2))
{%- endmacro %}
