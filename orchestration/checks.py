"""great-expectations gates as blocking Dagster asset checks: a failed error-level expectation
stops every asset downstream in the run, so nothing is published."""

from dataclasses import asdict
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.resources import WAREHOUSE_POOL, Warehouse
from quality.checks import raw_suite
from quality.gx_runner import GateReport, run_gate
from quality.marts import MART_SUITES
from subscriber_warehouse.contract import TABLES


def last_published_counts(published: Path) -> dict[str, int]:
    """Rows per raw table in the last published run: the baseline of the row-count band."""
    if not published.exists():
        return {}
    con = duckdb.connect(str(published), read_only=True)
    try:
        return dict(
            con.execute(
                "select table_name, sum(rows_loaded) from audit.load_files group by table_name"
            ).fetchall()
        )
    except duckdb.CatalogException:
        return {}
    finally:
        con.close()


def check_result(report: GateReport) -> dg.AssetCheckResult:
    errors = report.failed("error")
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_evaluated": report.rows_evaluated,
            "expectations_declared": report.expectations_declared,
            "expectations_evaluated": report.expectations_evaluated,
            "failed_checks": ", ".join(f"{f.check} ({f.severity})" for f in report.failures)
            or "none",
            "failures": dg.MetadataValue.json([asdict(f) for f in report.failures]),
        },
    )


def _raw_gate(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["raw", table]),
        name="gx_raw_contract",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=f"great-expectations suite of raw.{table}: schema, row rules, conflicting "
        "copies, references, FX coverage, freshness, row-count change (quality/checks.py).",
    )
    def _gate(warehouse: Warehouse) -> dg.AssetCheckResult:
        previous = last_published_counts(warehouse.published)
        load_time = f"{warehouse.now():%Y-%m-%d %H:%M:%S}"
        with warehouse.reader() as con:
            return check_result(
                run_gate(f"raw.{table}", raw_suite(table, load_time, previous), con)
            )

    return _gate


def _mart_gate(mart: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(["marts", mart]),
        name="gx_metric_rules",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=f"great-expectations suite of marts.{mart} (quality/marts.py).",
    )
    def _gate(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.reader() as con:
            return check_result(run_gate(f"marts.{mart}", MART_SUITES[mart], con))

    return _gate


gates = [_raw_gate(t) for t in TABLES] + [_mart_gate(m) for m in MART_SUITES]
