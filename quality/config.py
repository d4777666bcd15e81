"""Gate settings in one place: which failures stop a run (error) and which only report (warn)."""

from __future__ import annotations

import os

# check name -> "error" (blocks everything downstream, the run fails, nothing is published) or
# "warn" (reported in the run report and the check's metadata; the run goes on)
SEVERITY: dict[str, str] = {
    "schema": "error",
    "row_rules": "error",
    "required_rows": "error",
    "references": "error",
    "fx_coverage": "error",
    "row_count_change": "error",
    "lifecycle_order": "error",
    "conflicting_copies": "warn",  # the raw contract resolves them (the last file wins)
    "freshness": "warn",  # sample data is historical; production sets SW_GATE_FRESHNESS=error
    "bridge": "error",
    "rate_bounds": "error",
    "non_negative_mrr": "error",
    "cohort_sizes": "error",
    "unique_grain": "error",
    "probability_bounds": "error",
    "coverage": "error",
    "non_negative_value": "error",
}
SEVERITY["freshness"] = os.environ.get("SW_GATE_FRESHNESS", SEVERITY["freshness"])

# a table's row count may move to between these multiples of the last published run's count
ROW_COUNT_BAND = (
    float(os.environ.get("SW_GATE_ROW_COUNT_MIN_RATIO", "0.5")),
    float(os.environ.get("SW_GATE_ROW_COUNT_MAX_RATIO", "10")),
)
# the newest subscription event may be at most this old when the run starts
FRESHNESS_MAX_AGE_HOURS = float(os.environ.get("SW_GATE_FRESHNESS_HOURS", "48"))
# offending rows copied into a failed check's metadata
SAMPLE_ROWS = 5
