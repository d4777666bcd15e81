"""The gate runner: GX on frames from DuckDB, and the rules that stop vacuous passes."""

from __future__ import annotations

import json

import duckdb
import great_expectations.expectations as gxe
import pytest

from quality.checks import Check
from quality.gx_runner import run_gate


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("create table t as select * from (values (1, 'a', null), (2, 'b', 3.5)) v(id, k, x)")
    c.execute("create table empty (id integer)")
    yield c
    c.close()


def between(column, low, high):
    return lambda: [gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)]


def test_a_passing_check_reports_rows_and_expectations(con):
    report = run_gate(
        "g",
        [Check("row_rules", "row_rules", "select id from t", between("id", 1, 2), min_rows=1)],
        con,
    )
    assert report.passed
    assert (report.rows_evaluated, report.expectations_declared, report.expectations_evaluated) == (
        2,
        1,
        1,
    )


def test_zero_rows_where_rows_are_required_fails_instead_of_passing_vacuously(con):
    report = run_gate(
        "g",
        [Check("row_rules", "row_rules", "select id from empty", between("id", 1, 2), min_rows=1)],
        con,
    )
    assert not report.passed
    [failure] = report.failures
    assert (failure.check, failure.expectation, failure.observed, failure.severity) == (
        "row_rules",
        "rows_evaluated",
        0,
        "error",
    )


def test_an_expectation_gx_cannot_compute_fails_the_gate_rather_than_being_skipped(con):
    # the frame lacks the column: GX raises inside the expectation and reports it unsuccessful
    report = run_gate(
        "g",
        [Check("row_rules", "row_rules", "select id from t", between("missing", 0, 1), min_rows=1)],
        con,
    )
    assert [(f.check, f.expectation, f.column) for f in report.failures] == [
        ("row_rules", "expect_column_values_to_be_between", "missing")
    ]


def test_a_failure_names_the_expectation_observed_value_and_a_json_sample(con):
    offenders = "select * from t where x is null"
    check = Check(
        "references",
        "references",
        f"select count(*) as offenders from ({offenders})",
        between("offenders", 0, 0),
        sample_sql=offenders,
    )
    [failure] = run_gate("g", [check], con).failures
    assert (failure.expectation, failure.column, failure.unexpected_count) == (
        "expect_column_values_to_be_between",
        "offenders",
        1,
    )
    assert failure.sample == [{"id": 1, "k": "a", "x": None}]
    json.dumps(failure.sample, allow_nan=False)  # strict JSON: a null is null, never NaN


def test_severity_comes_from_the_config(con):
    check = Check("freshness", "freshness", "select 100 as age_hours", between("age_hours", 0, 48))
    [failure] = run_gate("g", [check], con).failures
    assert failure.severity == "warn"
