"""Businesses that land only the tables they have, with a history in any century: a billing-only
business from 1997 and a shop of one-off purchases, run as a user runs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from flow import cli, query
from independent_mrr import compute

from subscriber_warehouse.publish import working_path

pytestmark = pytest.mark.slow

NOT_BILLING = (
    "usage_events",
    "support_tickets",
    "campaigns",
    "campaign_touches",
    "campaign_assignments",
    "social_interactions",
    "preferences",
    "customer_attributes",
)


@pytest.fixture(scope="module")
def history_1997(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("y1997") / "landing"
    done = cli(
        "generate", "--customers", "400", "--seed", "5", "--start", "1997-01-01",
        "--months", "18", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def billing_only(history_1997, tmp_path_factory) -> tuple[Path, str]:
    landing = tmp_path_factory.mktemp("billing") / "landing"
    shutil.copytree(history_1997, landing)
    for table in NOT_BILLING:
        shutil.rmtree(landing / table)
    warehouse = landing.parent / "warehouse.duckdb"
    done = cli("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return warehouse, done.stdout


def test_a_billing_only_business_from_1997_gets_exact_month_end_mrr(billing_only):
    warehouse, summary = billing_only
    assert set(NOT_BILLING) <= _not_landed(summary)
    first, last = query(
        warehouse,
        "select min(month_start), max(month_start) from marts.subscription_metrics_monthly",
    )[0]
    assert first.year == 1997 and last.year == 1998
    expected = compute(working_path(warehouse))
    actual = pd.DataFrame(
        query(
            warehouse,
            "select customer_id, month_start, mrr, movement from marts.fct_customer_mrr_monthly",
        ),
        columns=["customer_id", "month_start", "mrr", "movement"],
    )
    actual["month_start"] = pd.to_datetime(actual["month_start"])
    merged = expected.merge(actual, on=["customer_id", "month_start"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert (merged["mrr_x"] - merged["mrr_y"].astype(float)).abs().max() <= 0.01 + 1e-9
    assert (merged["movement_x"] == merged["movement_y"]).all()
    # the calendar (and so the FX days) starts in the history's first month, not in 2000
    assert str(query(warehouse, "select min(date_day) from marts.dim_date")[0][0]) == "1997-01-01"


def _not_landed(summary: str) -> set[str]:
    line = next(ln for ln in summary.splitlines() if ln.startswith("no rows landed for: "))
    return set(line.removeprefix("no rows landed for: ").split(" (")[0].split(", "))


@pytest.fixture(scope="module")
def purchases_only(history_1997, tmp_path_factory) -> tuple[Path, str, set[str]]:
    """Customers, paid one-off invoices, their payments and FX rates; and one customer whose
    only purchase is a paid invoice of 0.00 with no payment."""
    landing = tmp_path_factory.mktemp("shop") / "landing"
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")

    def read(table: str) -> str:
        return f"read_parquet('{history_1997 / table}/**/*.parquet', union_by_name = true)"

    for table, sql in {
        "customers": f"select * from {read('customers')}",
        "fx_rates": f"select * from {read('fx_rates')}",
        "invoices": f"select * from {read('invoices')} where subscription_id is null",
        "payments": f"""select p.* from {read("payments")} as p
            where p.invoice_id in (select invoice_id from {read("invoices")}
                                   where subscription_id is null)""",
    }.items():
        (landing / table).mkdir(parents=True)
        con.execute(f"copy ({sql}) to '{landing / table / table}.parquet' (format parquet)")
    (landing / "customers" / "free.csv").write_text(
        "customer_id,email,created_at,updated_at\n"
        "cus_free,free@example.com,1997-03-01T00:00:00Z,1997-03-01T00:00:00Z\n",
        encoding="utf-8",
    )
    (landing / "invoices" / "free.csv").write_text(
        "invoice_id,customer_id,issued_at,subtotal,discount_amount,tax_amount,total,currency,"
        "status,updated_at\n"
        "in_free,cus_free,1997-03-02T10:00:00Z,0.00,0.00,0.00,0.00,USD,paid,1997-03-02T10:00:00Z\n",
        encoding="utf-8",
    )
    # the buyers, from the landing files (not the warehouse): customers with a paid one-off
    buyers = {
        r[0]
        for r in con.execute(
            f"select distinct customer_id from {read('invoices')} "
            "where subscription_id is null and status = 'paid'"
        ).fetchall()
    } | {"cus_free"}
    con.close()
    warehouse = landing.parent / "warehouse.duckdb"
    done = cli("run", "--landing", str(landing), "--warehouse", str(warehouse))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return warehouse, done.stdout, buyers


def test_a_shop_of_one_off_purchases_gets_its_purchase_model(purchases_only):
    warehouse, summary, buyers = purchases_only
    assert {"plans", "subscription_events", "usage_events"} <= _not_landed(summary)
    predicted = {
        r[0] for r in query(warehouse, "select customer_id from marts.purchase_clv_predictions")
    }
    assert len(buyers) >= 50 and predicted == buyers  # the $0 buyer included
    free = query(
        warehouse,
        "select repeat_purchase_weeks, probability_alive from marts.purchase_clv_predictions "
        "where customer_id = 'cus_free'",
    )
    assert free[0][0] == 0 and 0 < free[0][1] <= 1
    for mart in ("subscription_metrics_monthly", "fct_customer_mrr_monthly", "clv_predictions"):
        assert query(warehouse, f"select count(*) from marts.{mart}") == [(0,)], mart
    assert Path(str(warehouse).replace(".duckdb", ".report.html")).is_file()
