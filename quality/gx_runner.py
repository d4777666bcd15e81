"""Running a gate: each check's frame is queried from DuckDB and validated by great-expectations.

GX validates DataFrames fetched from DuckDB rather than DuckDB over SQLAlchemy: with duckdb-engine
GX 1.24 fails every metric (GX issues #10738, #11579). A validation that evaluated no rows (where
rows are required) or fewer expectations than declared fails: per-row expectations pass vacuously
on empty or all-null columns.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cache

import duckdb
import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig

from quality.checks import Check
from quality.config import SAMPLE_ROWS, SEVERITY


@dataclass
class Failure:
    check: str
    severity: str
    expectation: str
    column: str | None
    observed: object
    unexpected_count: int | None
    sample: list


@dataclass
class GateReport:
    gate: str
    rows_evaluated: int = 0
    expectations_declared: int = 0
    expectations_evaluated: int = 0
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def failed(self, severity: str) -> list[Failure]:
        return [f for f in self.failures if f.severity == severity]

    @property
    def passed(self) -> bool:
        return not self.failures


@cache
def _whole_frame():
    """One pandas asset for every validation, each with its own frame: a data source, asset,
    suite and validation definition registered per validation were 3.2 s of a profiled 10k run."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    frames = context.data_sources.add_pandas("frames").add_dataframe_asset("frame")
    return frames.add_batch_definition_whole_dataframe("whole")


def _validate(name: str, frame, expectations):
    batch = _whole_frame().get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=name, expectations=expectations)
    return batch.validate(suite, result_format="SUMMARY")


def _records(frame) -> list[dict]:
    """Rows as JSON-ready dicts: a missing value is null, never NaN."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def run_gate(gate: str, checks: list[Check], con: duckdb.DuckDBPyConnection) -> GateReport:
    report = GateReport(gate)
    skipped = 0  # expectations of a check stopped by too few rows: already a failure
    for check in checks:
        severity = SEVERITY[check.category]
        if check.applies_sql and not con.execute(check.applies_sql).fetchall()[0][0]:
            report.notes.append(f"{check.name}: not applicable ({check.applies_sql})")
            continue
        frame = con.execute(check.frame_sql).df()
        rows = con.execute(check.rows_sql).fetchall()[0][0] if check.rows_sql else len(frame)
        report.rows_evaluated = max(report.rows_evaluated, rows)
        expectations = check.expectations()
        report.expectations_declared += len(expectations)
        if rows < check.min_rows:
            report.failures.append(
                Failure(check.name, severity, "rows_evaluated", None, rows, None, [])
            )
            skipped += len(expectations)
            continue
        result = _validate(f"{gate}.{check.name}", frame, expectations)
        report.expectations_evaluated += result.statistics["evaluated_expectations"]
        for outcome in result.results:
            if outcome.success:
                continue
            kwargs = outcome.expectation_config.kwargs
            sample = (
                _records(con.execute(f"{check.sample_sql} limit {SAMPLE_ROWS}").df())
                if check.sample_sql
                else outcome.result.get("partial_unexpected_list", [])[:SAMPLE_ROWS]
            )
            report.failures.append(
                Failure(
                    check.name,
                    severity,
                    outcome.expectation_config.type,
                    kwargs.get("column") or kwargs.get("column_A"),
                    _jsonable(outcome.result.get("observed_value")),
                    outcome.result.get("unexpected_count"),
                    _jsonable(sample),
                )
            )
    if report.expectations_evaluated + skipped < report.expectations_declared:
        report.failures.append(
            Failure(
                "expectations",
                "error",
                "expectations_evaluated",
                None,
                report.expectations_evaluated,
                None,
                [],
            )
        )
    return report
