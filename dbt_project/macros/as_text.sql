{#- A value as a string, on every engine (Spark has no varchar cast without a length). -#}
{% macro as_text(expr) -%}
    cast({{ expr }} as {{ dbt.type_string() }})
{%- endmacro %}
