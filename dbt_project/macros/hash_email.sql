{#-
    hash_email(expr): the sha256 hex digest of salt || lower(trim(expr)), so e-mail addresses can
    be joined on without being stored. The salt is the SW_EMAIL_SALT environment variable.
    Engine-specific hashing dispatches to duckdb__ / spark__ (databricks falls back to spark__).
-#}
{% macro hash_email(expr) -%}
    {%- set salt = env_var('SW_EMAIL_SALT', 'subscriber-warehouse') -%}
    {%- set salted = dbt.concat([
        "'" ~ dbt.escape_single_quotes(salt) ~ "'",
        "lower(trim(" ~ expr ~ "))",
    ]) -%}
    {{ return(adapter.dispatch('hash_email', 'subscriber_warehouse')(salted)) }}
{%- endmacro %}

{% macro default__hash_email(salted) -%}
    {{ exceptions.raise_compiler_error(
        "hash_email has no implementation for adapter '" ~ adapter.type() ~ "'"
    ) }}
{%- endmacro %}

{% macro duckdb__hash_email(salted) -%}
    sha256({{ salted }})
{%- endmacro %}

{% macro spark__hash_email(salted) -%}
    sha2({{ salted }}, 256)
{%- endmacro %}
