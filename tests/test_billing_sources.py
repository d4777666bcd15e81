"""Stripe and Chargebee in: the shared native business written in each billing system's shape
(with its dirt: superseded syncs, bad currencies, an item without a price, a line that is no
JSON, an event out of order), run as a user runs it, gives the native run's marts exactly, and
accounts for every row it left out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from flow import CUSTOMERS, cli, dbt_unit_tests, query

from subscriber_warehouse.publish import working_path

pytestmark = pytest.mark.slow

# the customer-level marts a billing source must reproduce (subscription ids differ: Stripe
# makes a reactivation a new subscription)
MARTS = {
    "fct_customer_mrr_monthly": "customer_id, month_start, mrr, mrr_previous, mrr_change, "
    "movement, churn_type, churn_reason",
    "subscription_metrics_monthly": "*",
    "cohort_retention_monthly": "*",
}


def _run_source(source: str, tmp_path_factory) -> tuple[Path, str]:
    landing = tmp_path_factory.mktemp(source) / "landing"
    done = cli(
        "generate", "--customers", str(CUSTOMERS), "--seed", "11", "--format", source,
        "--dirty", "--out", str(landing),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warehouse = landing.parent / "warehouse.duckdb"
    done = cli("run", "--source", source, "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return warehouse, done.stdout


@pytest.fixture(scope="module")
def stripe(tmp_path_factory):
    return _run_source("stripe", tmp_path_factory)


@pytest.fixture(scope="module")
def chargebee(tmp_path_factory):
    return _run_source("chargebee", tmp_path_factory)


def _frame(path: Path, mart: str) -> pd.DataFrame:
    return pd.DataFrame(query(path, f"select {MARTS[mart]} from marts.{mart} order by all"))


@pytest.mark.parametrize("source", ["stripe", "chargebee"])
@pytest.mark.parametrize("mart", list(MARTS))
def test_a_billing_source_gives_the_native_marts(source, mart, request, warehouse):
    source_warehouse, _ = request.getfixturevalue(source)
    native, mapped = _frame(warehouse, mart), _frame(source_warehouse, mart)
    assert len(native) > CUSTOMERS if mart == "fct_customer_mrr_monthly" else len(native) > 0
    pd.testing.assert_frame_equal(native, mapped, obj=f"{source}: {mart}")


@pytest.mark.parametrize("source", ["stripe", "chargebee"])
def test_a_billing_source_gives_the_native_addresses(source, request, warehouse):
    """The exports read each customer's e-mail and phone (base_billing__customers): from the
    source's customer object they are the native customers' latest."""
    source_warehouse, _ = request.getfixturevalue(source)
    sql = "select customer_id, email, phone from staging.base_billing__customers order by all"
    native = query(working_path(warehouse), sql)
    assert sum(phone is not None for _, _, phone in native) > CUSTOMERS / 2
    assert query(working_path(source_warehouse), sql) == native


def _reasons(path: Path, sql: str) -> str:
    return "\n".join(r[0] for r in query(working_path(path), sql))


def test_stripe_rows_left_out_are_quarantined_with_their_reasons(stripe):
    path, summary = stripe
    loaded = _reasons(path, "select reason from raw.rejected_rows")
    assert "currency: 'zzz' is not an ISO-4217 currency code" in loaded
    mapped = _reasons(path, "select reason from staging.stripe__rejected_rows")
    assert "superseded by the copy synced at" in mapped
    assert "an item without a price" in mapped
    assert "stripe mapped" in summary


def test_chargebee_rows_left_out_are_quarantined_with_their_reasons(chargebee):
    path, summary = chargebee
    loaded = _reasons(path, "select reason from raw.rejected_rows")
    assert "not valid JSON" in loaded
    assert "occurred_at: required value is missing" in loaded
    assert "is not an ISO-4217 currency code" in loaded
    mapped = _reasons(path, "select reason from staging.chargebee__rejected_rows")
    assert "out of order: resource_version" in mapped
    assert "chargebee mapped" in summary


@pytest.mark.parametrize("source", ["stripe", "chargebee"])
def test_every_source_row_is_mapped_or_left_out_with_a_reason(source, request):
    path, _ = request.getfixturevalue(source)
    read = query(
        path,
        "select sum(rows_read), sum(rows_loaded + rows_rejected) from audit.load_files "
        f"where table_name like 'raw_{source}.%'",
    )[0]
    assert read[0] > 0 and read[0] == read[1]
    unbalanced = query(
        path,
        f"select staged_table from marts.{source}__row_accounting "
        "where rows_loaded <> rows_mapped + rows_quarantined",
    )
    assert unbalanced == []
    left_out = query(
        working_path(path),
        f"select staged_table, count(*) from staging.{source}__rejected_rows group by all",
    )
    accounted = query(
        path,
        f"select staged_table, rows_quarantined from marts.{source}__row_accounting "
        "where rows_quarantined > 0",
    )
    assert sorted(left_out) == sorted(accounted)


@pytest.mark.parametrize("source", ["stripe", "chargebee"])
def test_the_source_mapping_s_dbt_unit_tests_pass(source, request, tmp_path):
    """A pipeline run leaves the unit tests out: the mapping's conventions are checked here."""
    path, _ = request.getfixturevalue(source)
    statuses, unit_tests = dbt_unit_tests(working_path(path), tmp_path, source)
    assert set(statuses) == unit_tests
    # unit_test.<project>.<model>.<test>: the source's own models' are among them
    assert any(source in unit_test.split(".")[2] for unit_test in unit_tests)
    assert set(statuses.values()) == {"pass"}, statuses
