{#-
    string_agg(expr): the distinct non-null values of `expr` in a group, sorted and joined with ', '
    (one text on every engine: collect_set deduplicates on Spark, so DuckDB does too).
-#}
{% macro string_agg(expr) -%}
    {{ return(adapter.dispatch('string_agg', 'subscriber_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__string_agg(expr) -%}
    {{ dbt.listagg('distinct ' ~ expr, "', '", 'order by ' ~ expr) }}
{%- endmacro %}

{% macro duckdb__string_agg(expr) -%}
    string_agg(distinct {{ expr }}, ', ' order by {{ expr }})
{%- endmacro %}

{% macro spark__string_agg(expr) -%}
    concat_ws(', ', array_sort(collect_set({{ expr }})))
{%- endmacro %}
