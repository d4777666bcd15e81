{#-
    The first day an incremental run of a daily model rebuilds (a date expression). Rows of every
    day from then on are recomputed from the whole staging history and replace the model's rows of
    those days; older days are kept. The earliest of:
    - the newest day in the model minus var `lookback_days` (default 7): rows arriving up to a week
      late in any delivery;
    - env SW_REPROCESS_FROM (a date; the Dagster run passes its first partition day, empty = none),
      and the earliest day of the rows in day folders from that day on: a re-loaded day folder,
      however late its rows (a late file for an older day triggers a run of that day). An env
      var, not a dbt var: a var that changes between runs makes every run re-parse the whole
      project (~8 s a dbt step), while this macro's env var is read only when a model runs.
    The first build, and `--full-refresh`, build everything.

    `source_relation` is the raw daily table (with `_source_file`), `day_expr` the day of one of
    its rows; the model must declare the source (`-- depends_on: {{ source(...) }}`), since dbt
    sees this call only in incremental runs.
-#}
{% macro incremental_window_start(day_column, source_relation, day_expr) -%}
    {%- set reprocess_from = env_var('SW_REPROCESS_FROM', '') -%}
    least(
        -- an empty model (no rows yet): everything
        coalesce(
            (
                select
                    {{ dbt.dateadd('day', -(var('lookback_days') | int), 'max(' ~ day_column ~ ')') }}
                from {{ this }}
            ),
            cast('0001-01-01' as date)
        )
        {%- if reprocess_from %},
            cast('{{ reprocess_from }}' as date),
            -- least() skips the null of no such rows, on DuckDB and Spark alike
            (
                select min({{ day_expr }})
                from {{ source_relation }}
                where
                    _source_file like '%/%/%'
                    and {{ dbt.split_part('_source_file', "'/'", 2) }} >= '{{ reprocess_from }}'
            )
        {%- endif %}
    )
{%- endmacro %}
