{#-
    Order by which "the copy delivered last wins" picks a key's copy in a daily table (usage_events,
    subscription_events, payments; docs/raw-contract.md): a file in a day folder
    (`<table>/<YYYY-MM-DD>/<name>`) was delivered after the top-level ones (`<table>/<name>`, a bulk
    delivery of history), a later day after an earlier one, and within a folder the name sorting
    last; then the later row of the file. Plain `like` and string order: the same on DuckDB and Spark.
-#}
{% macro latest_delivery_first(file_column='_source_file', row_column='_source_row') -%}
    ({{ file_column }} like '%/%/%') desc, {{ file_column }} desc, {{ row_column }} desc
{%- endmacro %}
