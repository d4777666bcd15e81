{#- Amounts in marts are cents in the reporting currency: one type on every engine. -#}
{% macro money(expr) -%}
    cast({{ expr }} as decimal(18, 2))
{%- endmacro %}

{#-
    money() of a double (an amount times a double ratio, e.g. formula CLV), rounded alike on every
    engine: to the nearest cent of expr x 100 computed in double, halves away from zero. That is
    DuckDB's cast of a double to a decimal. Spark's cast rounds the double's shortest decimal
    representation instead: 809.06 x 795 / 28 = 22971.525 is the double 22971.524999999998, which
    DuckDB casts to 22971.53 and Spark to 22971.52; spark__ rounds DuckDB's way.
-#}
{% macro money_from_double(expr) -%}
    {{ return(adapter.dispatch('money_from_double', 'subscriber_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__money_from_double(expr) -%}
    {{ money(expr) }}
{%- endmacro %}

{% macro spark__money_from_double(expr) -%}
    {{ money('round(cast(' ~ expr ~ ' as double) * cast(100 as double)) / cast(100 as double)') }}
{%- endmacro %}
