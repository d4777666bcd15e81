"""When the full pipeline runs unattended: daily, after the overnight exports have landed."""

import dagster as dg

# the job is defined in definitions.py, which imports this module: referred to by name
PIPELINE_JOB = "pipeline"

daily_pipeline_schedule = dg.ScheduleDefinition(
    name="daily_pipeline",
    job_name=PIPELINE_JOB,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    # off until turned on in the UI: a fresh checkout should not start loading on its own
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="The whole pipeline (load, gates, dbt build, publish) daily at 02:00 UTC.",
)
