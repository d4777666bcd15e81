"""How the dbt steps run and report, apart from the dbt assets (which need the manifest): the
arguments of a run's `dbt build`, what a mart's materialization shows in the UI, and which rules
a failed row_rules check broke."""

import json
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from orchestration.partitions import is_full_refresh, run_days

# the incremental dbt model and the daily raw table it is built from
INCREMENTAL_MODEL = dg.AssetKey(["marts", "fct_usage_daily"])
INCREMENTAL_SOURCE = dg.AssetKey(["raw", "usage_events"])


# the first day incremental models rebuild (dbt_project/macros/incremental_window_start.sql)
REPROCESS_FROM_ENV = "SW_REPROCESS_FROM"


# dbt unit tests check the SQL on fixed rows, the same in every run: they run in `make test`
# (tests/test_dbt_unit_tests.py), not in a pipeline run, as dbt advises for production
WITHOUT_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]


def build_args(tags: Mapping[str, str]) -> list[str]:
    """`dbt build` for a run with these tags: a full-refresh run rebuilds incremental models
    whole. dbt models are not partitioned in Dagster: every run updates each one as a whole
    table, whatever days it loaded."""
    return ["build", *WITHOUT_UNIT_TESTS, *(["--full-refresh"] if is_full_refresh(tags) else [])]


def reprocess_from(tags: Mapping[str, str], loaded_since_last_build: str | None = None) -> str:
    """The day from which incremental models (fct_usage_daily) rebuild, besides their lookback:
    the run's first partition day, or an earlier day loaded since the model was last built
    (`loaded_since_last_build`); empty for none, and for a full refresh (which rebuilds all)."""
    if is_full_refresh(tags):
        return ""
    return min((d for d in (*(run_days(tags) or ()), loaded_since_last_build) if d), default="")


def first_day_loaded_since_last_build(instance: dg.DagsterInstance) -> str | None:
    """The earliest day partition of the incremental model's raw table materialized since the
    model's last materialization: days loaded by a run whose dbt step failed, or by a backfill
    of the raw assets alone, which the next build must still catch up on."""
    last_build = instance.fetch_materializations(INCREMENTAL_MODEL, limit=1).records
    loaded = dg.AssetRecordsFilter(
        asset_key=INCREMENTAL_SOURCE,
        after_storage_id=last_build[0].storage_id if last_build else None,
    )
    first, cursor = None, None
    while True:
        page = instance.fetch_materializations(loaded, limit=1000, cursor=cursor)
        days = [r.partition_key for r in page.records if r.partition_key]
        first = min([*days, *([first] if first else [])], default=None)
        if not page.has_more:
            return first
        cursor = page.cursor


# tables BI reads: counting a staging view would re-run its query over the raw table
PREVIEWED_SCHEMAS = ("marts", "snapshots")
PREVIEW_ROWS = 5


def table_metadata(con, key: dg.AssetKey) -> dict:
    """Row count and the first rows as a Markdown table, for the materialization in the UI."""
    table = ".".join(f'"{part}"' for part in key.path)
    rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    preview = con.execute(f"select * from {table} limit {PREVIEW_ROWS}")
    header = [d[0] for d in preview.description]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in preview.fetchall()]
    return {"dagster/row_count": rows, "preview": dg.MetadataValue.md("\n".join(lines))}


def broken_rules(con, target: Path, check: dg.AssetCheckResult) -> dg.AssetCheckResult:
    """A failed row_rules test (dbt_project/macros/generic_tests/row_rules.sql) with the rules it
    found broken and their failing rows as `failed_checks`, read back with its compiled SQL from
    the invocation's run results (dagster-dbt reports only the sum); any other check unchanged."""
    unique_id = check.metadata.get("unique_id")
    if check.passed or unique_id is None or not str(check.check_name).endswith("_row_rules"):
        return check
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    compiled = next(r["compiled_code"] for r in results if r["unique_id"] == unique_id.value)
    rows = con.execute(f"select rule, failing_rows from ({compiled}) order by rule").fetchall()
    return check.with_metadata(
        {**check.metadata, "failed_checks": "; ".join(f"{rule}: {n:,}" for rule, n in rows)}
    )
