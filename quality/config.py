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
    # plausibility: values no contract rule forbids but no business has
    "amount_ceiling": "error",
    "mrr_jump": "error",
    # a billing export can date a customer later than its first subscription (a CRM record
    # created after the fact): reported, not blocking, unless SW_GATE_BEFORE_CUSTOMER=error
    "before_customer": "warn",
    "bridge": "error",
    "rate_bounds": "error",
    "non_negative_mrr": "error",
    "cohort_sizes": "error",
    "unique_grain": "error",
    "probability_bounds": "error",
    "coverage": "error",
    "non_negative_value": "error",
    "interval_order": "error",
}
# any check's severity can be set by SW_GATE_<CHECK> (e.g. SW_GATE_FRESHNESS=error)
SEVERITY = {
    name: os.environ.get(f"SW_GATE_{name.upper()}", level) for name, level in SEVERITY.items()
}
if set(SEVERITY.values()) - {"error", "warn"}:
    raise ValueError(f"a SW_GATE_<CHECK> severity must be error or warn: {SEVERITY}")
# email_hash's salt (dbt macro hash_email, same default). The default is public: anyone could
# recompute a hash from an address, so production (SW_GATE_FRESHNESS=error) refuses it here,
# where every run's definitions are loaded, before any step starts
DEFAULT_EMAIL_SALT = "subscriber-warehouse"
EMAIL_SALT = os.environ.get("SW_EMAIL_SALT", DEFAULT_EMAIL_SALT)
if SEVERITY["freshness"] == "error" and EMAIL_SALT in ("", DEFAULT_EMAIL_SALT):
    raise ValueError(
        "SW_EMAIL_SALT is unset, empty or the public default while SW_GATE_FRESHNESS=error "
        "(production): set SW_EMAIL_SALT to a secret of your own"
    )

# a table's row count may move to between these multiples of the last published run's count
ROW_COUNT_BAND = (
    float(os.environ.get("SW_GATE_ROW_COUNT_MIN_RATIO", "0.5")),
    float(os.environ.get("SW_GATE_ROW_COUNT_MAX_RATIO", "10")),
)
# the newest subscription event may be at most this old when the run starts
FRESHNESS_MAX_AGE_HOURS = float(os.environ.get("SW_GATE_FRESHNESS_HOURS", "48"))
# an amount above this many US dollars (converted at its currency's latest landed rate) is
# implausible: a plan at 999,999,999,999.99 a month
AMOUNT_CEILING_USD = float(os.environ.get("SW_GATE_AMOUNT_CEILING_USD", "10000000"))
# month-over-month total MRR growth beyond this factor is implausible once the business has
# this many paying customers at the month's start (a first month can grow from one customer)
MRR_JUMP_FACTOR = float(os.environ.get("SW_GATE_MRR_JUMP_FACTOR", "5"))
MRR_JUMP_MIN_CUSTOMERS = int(os.environ.get("SW_GATE_MRR_JUMP_MIN_CUSTOMERS", "10"))
# offending rows copied into a failed check's metadata
SAMPLE_ROWS = 5
