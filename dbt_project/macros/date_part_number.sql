{#- A numeric date part (year, month, day) of a date, on every engine. -#}
{% macro date_part_number(part, expr) -%}
    {{ return(adapter.dispatch('date_part_number', 'subscriber_warehouse')(part, expr)) }}
{%- endmacro %}

{% macro default__date_part_number(part, expr) -%}
    extract({{ part }} from {{ expr }})
{%- endmacro %}
