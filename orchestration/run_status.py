"""Reacting to finished runs: an alert for every failed run, and the quality report of scheduled
and sensor-started pipeline runs (the CLI writes its own report; unattended runs have nobody to).

Both only read the run's events and write files beside the published warehouse; neither starts a
run, so they are on by default.
"""

import http.client
import json
import logging
import os
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration import quality_report
from orchestration.jobs import PIPELINE_JOB
from orchestration.resources import Warehouse

ALERT_WEBHOOK_ENV = "SW_ALERT_WEBHOOK_URL"
WEBHOOK_TIMEOUT_SECONDS = 5
# runs nobody watches: started by a schedule or a sensor (Dagster's own run tags)
UNATTENDED_RUN_TAGS = ("dagster/schedule_name", "dagster/sensor_name")


def alerts_log(published: Path) -> Path:
    """One JSON line per failed run, beside the published warehouse."""
    return Path(published).with_suffix(".alerts.log")


def failure_alert(context: dg.RunFailureSensorContext) -> dict:
    run = context.dagster_run
    return {
        "run_id": run.run_id,
        "job": run.job_name,
        "time_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "failed_steps": [
            {"step": step, "error": error}
            for step, error in quality_report.step_failures(context.get_step_failure_events())
        ],
        "error": context.failure_event.message,
    }


def post_alert(url: str, alert: dict, log: logging.Logger) -> None:
    """POST the alert as JSON; a webhook that is down must not hide the alert log line."""
    if not url.startswith(("http://", "https://")):
        log.warning(f"{ALERT_WEBHOOK_ENV} is not an http(s) URL: alert not posted")
        return
    request = urllib.request.Request(
        url,
        data=json.dumps(alert).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read()
    except (OSError, http.client.HTTPException) as e:  # URLError, HTTPError, timeouts
        # the URL itself is not logged: webhook URLs usually embed a secret token
        log.warning(f"posting the alert to {ALERT_WEBHOOK_ENV} failed: {e}")


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Appends a JSON alert per failed run to <warehouse>.alerts.log and POSTs it to "
    f"${ALERT_WEBHOOK_ENV} when set.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, warehouse: Warehouse) -> None:
    alert = failure_alert(context)
    path = alerts_log(warehouse.published)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as log:
        log.write(json.dumps(alert) + "\n")
    if url := os.environ.get(ALERT_WEBHOOK_ENV):
        post_alert(url, alert, context.log)


def _quality_report_sensor(status: dg.DagsterRunStatus) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=f"quality_report_on_{status.value.lower()}",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Writes <warehouse>.quality.json for scheduled and sensor-started "
        f"`{PIPELINE_JOB}` runs, as the CLI does for its runs.",
    )
    def _write_report(context: dg.RunStatusSensorContext, warehouse: Warehouse) -> None:
        run = context.dagster_run
        if run.job_name != PIPELINE_JOB or not any(t in run.tags for t in UNATTENDED_RUN_TAGS):
            return  # a CLI run wrote its own report, maybe for another warehouse path
        success = status == dg.DagsterRunStatus.SUCCESS
        report = quality_report.collect_for_run(context.instance, run.run_id, success)
        path = quality_report.write(warehouse.published, report)
        context.log.info(f"quality report of run {run.run_id}: {path}")

    return _write_report


# a failed run's report says which gate stopped it: written on failure too, like the CLI does
quality_report_sensors = [
    _quality_report_sensor(dg.DagsterRunStatus.SUCCESS),
    _quality_report_sensor(dg.DagsterRunStatus.FAILURE),
]
