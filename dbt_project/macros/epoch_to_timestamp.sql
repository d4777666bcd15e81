{#- A UNIX instant in whole seconds (Chargebee's) as a naive UTC timestamp, on every engine. -#}
{% macro epoch_to_timestamp(expr) -%}
    {{ return(adapter.dispatch('epoch_to_timestamp', 'subscriber_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__epoch_to_timestamp(expr) -%}
    make_timestamp(cast({{ expr }} as bigint) * 1000000)
{%- endmacro %}

{% macro spark__epoch_to_timestamp(expr) -%}
    timestamp_seconds(cast({{ expr }} as bigint))
{%- endmacro %}
