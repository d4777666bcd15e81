"""Seconds per metrics query on a published warehouse: `subscriber-warehouse metrics` against
MetricFlow's own `mf query`, each query of the README in its own process (wall, peak RSS).

    .venv/bin/python benchmarks/metrics_query.py /tmp/swbench/wh-10000/warehouse.duckdb

The semantic manifest is the one in dbt's target folder (the last run's or `dbt parse`'s), as
both tools read it; `mf` connects through the profile's read_only target.
"""

from __future__ import annotations

import sys
from pathlib import Path

from run import BIN, timed

QUERIES = [
    ["--metrics", "mrr,logo_churn_rate", "--group-by", "metric_time__month,subscriber__country"],
    ["--metrics", "new_mrr,historical_clv", "--group-by", "subscriber__acquisition_channel"],
    ["--metrics", "mrr,predicted_clv", "--group-by", "subscriber__risk_tier"],
    ["--metrics", "trial_conversion_rate", "--group-by", "metric_time__month"],
    ["--saved-query", "mrr_by_tier_monthly"],
    [
        "--metrics",
        "cohort_revenue_retention",
        "--group-by",
        "metric_time__month,cohort__months_since_start",
    ],
]


def main(published: Path) -> None:
    print("| query | subscriber-warehouse metrics s | MiB | mf query s | MiB |")
    print("|---|---|---|---|---|")
    for args in QUERIES:
        ours = timed(
            [str(BIN / "subscriber-warehouse"), "metrics", *args, "--warehouse", str(published)]
        )
        theirs = timed(
            [str(BIN / "mf"), "query", *args, "--quiet"],
            {"SW_DBT_TARGET": "read_only", "SW_WAREHOUSE": str(published)},
        )
        print(
            f"| `{' '.join(args)}` | {ours['seconds']} | {ours['peak_rss_mib']} "
            f"| {theirs['seconds']} | {theirs['peak_rss_mib']} |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())
