"""The run's quality summary: every check (GX gates and dbt tests) with its outcome."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg


def _value(metadata: dict, key: str):
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


def collect(result: dg.ExecuteInProcessResult) -> dict:
    checks = []
    for evaluation in result.get_asset_check_evaluations():
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
    published = result.asset_materializations_for_node("published__warehouse")
    restated = _value(published[0].metadata, "restated_months") if published else []
    failed = [c for c in checks if not c["passed"]]
    return {
        "run_id": result.run_id,
        "success": result.success,
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
    lines = [
        f"quality: {report['checks']} checks, {report['failed_errors']} failed, "
        f"{report['failed_warnings']} warnings"
    ]
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
