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


# -- raw row rules: GX sees representative rows, with the outcome of validating every row ----
TICKETS = """
    create schema raw;
    create table raw.support_tickets as
    select 'tkt_' || i as ticket_id, 'cus_' || i as customer_id,
        timestamp '2024-01-01' + to_minutes(i) as opened_at, null::timestamp as resolved_at,
        ['email', 'chat', 'phone', 'social'][1 + i % 4] as channel,
        ['low', 'normal', 'high', 'urgent'][1 + i % 4] as priority, 'billing' as category,
        case when i % 3 = 0 then null else 1 + i % 5 end::bigint as satisfaction_score,
        'tickets.csv' as _source_file, i::bigint as _source_row
    from range(1, 20001) as r(i)
"""


@pytest.mark.parametrize(
    ("breakage", "expectation", "column"),
    [
        (None, None, None),
        ("satisfaction_score = 6", "expect_column_values_to_be_between", "satisfaction_score"),
        ("satisfaction_score = 0", "expect_column_values_to_be_between", "satisfaction_score"),
        ("channel = 'fax'", "expect_column_values_to_be_in_set", "channel"),
        ("customer_id = null", "expect_column_values_to_not_be_null", "customer_id"),
    ],
)
def test_row_rules_find_one_bad_row_in_twenty_thousand_from_a_small_frame(
    breakage, expectation, column
):
    from quality.checks import raw_suite

    con = duckdb.connect()
    con.execute(TICKETS)
    if breakage:
        con.execute(f"update raw.support_tickets set {breakage} where ticket_id = 'tkt_12345'")
    [check] = [c for c in raw_suite("support_tickets", "2024-06-01", {}) if c.name == "row_rules"]
    frame_rows = con.execute(f"select count(*) from ({check.frame_sql})").fetchone()[0]
    # 1 + 2 extremes of satisfaction_score + 4 channels + 4 priorities + (1 if a row misses a value)
    assert frame_rows <= 12
    report = run_gate("raw.support_tickets", [check], con)
    assert report.rows_evaluated == 20_000
    failures = [(f.expectation, f.column) for f in report.failures]
    assert failures == ([(expectation, column)] if breakage else [])
