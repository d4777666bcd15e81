{#-
    One row per `datepart` (day, month) from `start_date` through `end_date` (dates, inclusive),
    as column `alias`, for each row of `relation` (one row: the calendar's bounds). No row when a
    bound is null. A single query on every engine: the bounds come from the data, so no
    compile-time query (dbt.date_spine's) is needed.
-#}
{% macro date_series(start_date, end_date, datepart, alias, relation) -%}
    {{ return(adapter.dispatch('date_series', 'subscriber_warehouse')(
        start_date, end_date, datepart, alias, relation
    )) }}
{%- endmacro %}

{% macro default__date_series(start_date, end_date, datepart, alias, relation) -%}
    select
        cast(unnest(generate_series(
            cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 {{ datepart }}
        )) as date) as {{ alias }}
    from {{ relation }}
{%- endmacro %}

{% macro spark__date_series(start_date, end_date, datepart, alias, relation) -%}
    select
        explode(sequence(
            cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 {{ datepart }}
        )) as {{ alias }}
    from {{ relation }}
{%- endmacro %}
