"""When the pipeline runs unattended: daily, after the overnight exports have landed."""

import dagster as dg

from orchestration.jobs import pipeline_job

# At 02:00 UTC, a run of yesterday's partition (the latest: daily partitions end with the last
# complete UTC day): yesterday's day folders load, older days stay as loaded.
daily_pipeline_schedule = dg.build_schedule_from_partitioned_job(
    pipeline_job,
    name="daily_pipeline",
    hour_of_day=2,
    minute_of_hour=0,
    # off until turned on in the UI: a fresh checkout should not start loading on its own
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="The whole pipeline (load, gates, dbt build, publish) daily at 02:00 UTC for "
    "yesterday's partition.",
)
