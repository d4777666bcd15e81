{#-
    The billing source of the run: `native` (the raw contract's billing tables) or a billing
    system whose own tables the run loads (stripe, chargebee: models/staging/<source>/), from
    SW_BILLING_SOURCE (the CLI's --source). Each source's models are enabled only when it is the
    run's (dbt_project.yml), so a native run has none of them.
-#}
{% macro billing_source() -%}
    {{ return(env_var('SW_BILLING_SOURCE', 'native')) }}
{%- endmacro %}

{#-
    The raw contract's billing table `name` (customers, plans, subscription_events, invoices,
    payments, refunds) as the run's billing source provides it: the loaded raw table, or the
    source's mapping of its own tables to that shape (<source>__<name>), with the same columns and
    lineage (_source_file, _source_row).
-#}
{% macro billing_table(name) -%}
    {%- if billing_source() == 'native' -%}
        {{ source('raw', name) }}
    {%- else -%}
        {{ ref(billing_source() ~ '__' ~ name) }}
    {%- endif -%}
{%- endmacro %}
