{#- The text at `path` ($.a.b) of a JSON text column; null when absent. -#}
{% macro json_text(expr, path) -%}
    {{ return(adapter.dispatch('json_text', 'subscriber_warehouse')(expr, path)) }}
{%- endmacro %}

{% macro default__json_text(expr, path) -%}
    json_extract_string({{ expr }}, '{{ path }}')
{%- endmacro %}

{% macro spark__json_text(expr, path) -%}
    get_json_object({{ expr }}, '{{ path }}')
{%- endmacro %}

{#-
    One row per element of a JSON array (text) column: use in a select list as
    `{{ json_array_elements('t.items') }} as element`; each element is JSON text, read with
    json_text(element, '$.field'). No row for a null or empty array.
-#}
{% macro json_array_elements(expr) -%}
    {{ return(adapter.dispatch('json_array_elements', 'subscriber_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__json_array_elements(expr) -%}
    unnest(cast(json({{ expr }}) as json[]))
{%- endmacro %}

{% macro spark__json_array_elements(expr) -%}
    explode(from_json({{ expr }}, 'array<string>'))
{%- endmacro %}
