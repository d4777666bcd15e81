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
from subscriber_warehouse.contract import Table
from subscriber_warehouse.publish import PublishedFileLocked, open_published
from subscriber_warehouse.sources import raw_tables


def last_published_counts(published: Path) -> dict[str, int]:
    """Rows per raw table in the last published run: the baseline of the row-count band."""
    if not published.exists():
        return {}
    try:
        con = open_published(published)
    except PublishedFileLocked as locked:
        raise dg.Failure(description=str(locked), allow_retries=False) from None
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


def _raw_gate(table: Table, run_tables: list[Table]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey([table.schema, table.name]),
        name="gx_raw_contract",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=f"great-expectations suite of {table.qualified}: schema, row rules, "
        "conflicting copies, references, FX coverage, freshness, row-count change "
        "(quality/checks.py).",
    )
    def _gate(warehouse: Warehouse) -> dg.AssetCheckResult:
        previous = last_published_counts(warehouse.published)
        load_time = f"{warehouse.now():%Y-%m-%d %H:%M:%S}"
        suite = raw_suite(table, load_time, previous, run_tables)
        with warehouse.reader() as con:
            return check_result(run_gate(table.qualified, suite, con))

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


def gates(billing_source: str) -> list[dg.AssetChecksDefinition]:
    """The run's blocking gates: one per raw table of its billing source, one per metric mart."""
    run_tables = raw_tables(billing_source)
    return [_raw_gate(t, run_tables) for t in run_tables] + [_mart_gate(m) for m in MART_SUITES]
