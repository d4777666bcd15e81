"""The run's quality summary: every check (GX gates and dbt tests) with its outcome."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import dagster as dg


def _value(metadata: dict, key: str):
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


PUBLISHED_KEY = dg.AssetKey(["published", "warehouse"])
_REPORTED_EVENTS = {
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
}


def collect(result: dg.ExecuteInProcessResult) -> dict:
    """The report of a run the CLI executed in-process."""
    report = from_events(result.run_id, result.success, result.all_events)
    report["planned_checks"] = len(result.job_def.asset_layer.asset_graph.asset_check_keys)
    return report


def collect_for_run(instance: dg.DagsterInstance, run_id: str, success: bool) -> dict:
    """The report of a finished run read back from the instance: scheduled and sensor runs."""
    entries = instance.all_logs(run_id, of_type=_REPORTED_EVENTS)
    events = [entry.dagster_event for entry in entries if entry.dagster_event is not None]
    report = from_events(run_id, success, events)
    # the instance logs one planned event per check when the run is created
    planned = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED)
    report["planned_checks"] = len(planned)
    return report


def from_events(run_id: str, success: bool, events: Iterable[dg.DagsterEvent]) -> dict:
    """The report from a run's events, whether the run's result or the instance holds them."""
    checks = []
    restated = []
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            if materialization.asset_key == PUBLISHED_KEY:
                restated = _value(materialization.metadata, "restated_months")
            continue
        if event.event_type != dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            continue
        evaluation = event.event_specific_data
        meta = evaluation.metadata
        checks.append(
            {
                "asset": evaluation.asset_key.to_user_string(),
                "check": evaluation.check_name,
                "passed": evaluation.passed,
                "severity": evaluation.severity.value,
                "rows_evaluated": _value(meta, "rows_evaluated"),
                "failures": _value(meta, "failures")
                or _value(meta, "dagster_dbt/failed_row_count"),
                "failed_checks": _value(meta, "failed_checks"),
            }
        )
    checks.sort(key=lambda c: (c["passed"], c["asset"], c["check"]))
    failed = [c for c in checks if not c["passed"]]
    return {
        "run_id": run_id,
        "success": success,
        "checks": len(checks),
        "failed_errors": sum(c["severity"] == "ERROR" for c in failed),
        "failed_warnings": sum(c["severity"] == "WARN" for c in failed),
        "restated_months": restated or [],
        "results": checks,
    }


def report_path(published: Path) -> Path:
    return Path(published).with_suffix(".quality.json")


def write(published: Path, report: dict) -> Path:
    path = report_path(published)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


def headline(report: dict) -> str:
    counts = f"{report['failed_errors']} failed, {report['failed_warnings']} warnings"
    checks, planned = report["checks"], report.get("planned_checks")
    if report["success"]:
        lines = [f"quality: {checks} checks, {counts}"]
    elif checks == planned:
        lines = [f"quality: all {checks} checks ran, {counts}; a later step failed"]
    else:  # a failed run's count is of the checks that ran before it stopped, never a clean bill
        of = f" of {planned}" if planned else ""
        lines = [f"quality: {checks}{of} checks ran before the run failed, {counts}"]
    if report["restated_months"]:
        lines.append(f"restated months: {', '.join(report['restated_months'])}")
    for c in report["results"]:
        if not c["passed"]:
            detail = c["failed_checks"] or c["failures"]
            lines.append(f"  {c['severity'].lower():<5} {c['asset']} {c['check']}: {detail}")
            for failure in c["failures"] if isinstance(c["failures"], list) else []:
                first = (failure.get("sample") or [{}])[0]
                if isinstance(first, dict) and "_source_file" in first:
                    lines.append(
                        f"        {failure['check']}: first offending row "
                        f"{first['_source_file']} row {first['_source_row']}"
                    )
    return "\n".join(lines)


def step_failures(events: Iterable[dg.DagsterEvent]) -> list[tuple[str, str]]:
    """(step, why) of every failed step, unwrapped to the user's error: CLI output and alerts."""
    errors = []
    for event in events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            # Dagster's wrappers, and the retry policy's "Exceeded max_retries", hide the cause
            while error.cause is not None and (
                "dagster" in error.cls_name.lower() or error.cls_name.startswith("RetryRequested")
            ):
                error = error.cause
            message = error.message.strip()
            prefix = f"{error.cls_name}: "
            errors.append((event.step_key, message.split(prefix, 1)[-1]))
    return errors
