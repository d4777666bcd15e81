{#-
    Order by which a billing source's copy of an object wins: the latest sync (Fivetran's
    _fivetran_synced, Chargebee's resource_version), then the copy delivered last (the file whose
    name sorts last, then the later row). The other copies are superseded (quarantined with a
    reason by the source's staging models).
-#}
{% macro latest_sync_first(sync_column='_fivetran_synced', relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    {{ prefix }}{{ sync_column }} desc, {{ prefix }}_source_file desc, {{ prefix }}_source_row desc
{%- endmacro %}

{#-
    The reason a copy of an object loses to a later sync (null for the winning copy): the
    quarantine reason of a superseded sync row, naming the sync that won. `relation` qualifies
    the sync and lineage columns in a query that joins.
-#}
{% macro superseded_reason(key, sync_column='_fivetran_synced', relation=none) -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    case
        when row_number() over (
            partition by {{ key }} order by {{ latest_sync_first(sync_column, relation) }}
        ) > 1
            then 'superseded by the copy synced at '
            || {{ as_text('max(' ~ prefix ~ sync_column ~ ') over (partition by ' ~ key ~ ')') }}
    end
{%- endmacro %}
