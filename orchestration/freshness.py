"""How stale raw tables and marts may get before Dagster marks them failing.

Freshness *policies*, the 1.12+ successor of freshness checks: the daemon that `dagster dev`
starts evaluates them, no sensor or job runs them, so they never add steps or checks to a run
(the quality report counts only the gates). The pipeline runs daily at 02:00 UTC; 26 hours
leaves two hours for a late or slow run before the UI shows the asset as failing freshness.
"""

from datetime import timedelta

import dagster as dg

DAILY_WITH_SLACK = timedelta(hours=26)

RAW_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=DAILY_WITH_SLACK)
MART_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=DAILY_WITH_SLACK)

# every asset under these key prefixes must carry one of the policies (tests/test_orchestration.py)
FRESHNESS_BY_KEY_PREFIX = {"raw": RAW_FRESHNESS, "marts": MART_FRESHNESS}
