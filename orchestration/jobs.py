"""The one job: every asset, in one process.

Its partitions are the daily tables' (orchestration/partitions.py): a run names a day or a range
of days, which the daily raw tables load; every other asset runs once per run. The schedule,
the landing sensor and backfills all start this job.
"""

import dagster as dg

PIPELINE_JOB = "pipeline"

# DuckDB allows one writer per file, and a subprocess per step costs seconds on small machines.
pipeline_job = dg.define_asset_job(
    PIPELINE_JOB,
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load (the run's days of the daily tables, every other table), gates, dbt build, "
    "predictive models, publish, exports and report.",
)
