"""The benchmark's peer SQL (dbt-labs' mrr-playbook method) against the independent pandas MRR.

Loading and building a warehouse is too slow here, so the raw tables that tests/independent_mrr.py
reads are made straight from the landing files (typed Parquet, timestamps to UTC, the file name and
row kept for the dedupe), and the peer SQL runs over the same files. Two landings: hand-made rows
for the contract's corner cases the playbook lacks, and a small generated one with a conflicting
re-delivery and a price change added.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from independent_mrr import customer_month_mrr, movements

from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load.files import landing_files

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ("subscription_events", "plans", "fx_rates")
PLAYBOOK_MOVEMENTS = {"upgrade": "expansion", "downgrade": "contraction"}

_spec = importlib.util.spec_from_file_location("peer", ROOT / "benchmarks" / "peer.py")
peer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peer)


def land(landing: Path, table: str, name: str, rows: list[dict], day: str = "") -> None:
    """Write rows as a typed Parquet file, as the generator does (timestamps with a zone), in
    the table's folder or its day folder `day`."""
    folder = landing / table / day
    folder.mkdir(parents=True, exist_ok=True)
    casts = ", ".join(
        f"cast({c.name} as {'timestamptz' if c.type == 'ts' else c.duckdb_type}) as {c.name}"
        for c in TABLES[table].columns
    )
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.register("frame", pd.DataFrame(rows, columns=TABLES[table].column_names).astype(object))
    con.execute(f"copy (select {casts} from frame) to '{folder / name}' (format parquet)")
    con.close()


def raw_tables(landing: Path) -> duckdb.DuckDBPyConnection:
    """raw.<table> as the loader leaves clean files: naive UTC timestamps, _source_file/_row."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema raw")
    for table in INPUTS:
        files = [str(f.path) for f in landing_files(landing, table)]
        columns = ", ".join(
            f"timezone('UTC', {c.name}) as {c.name}" if c.type == "ts" else c.name
            for c in TABLES[table].columns
        )
        con.execute(
            f"create table raw.{table} as select {columns}, "
            # the path under the landing folder, as the loader records it (day folder included)
            f"substr(filename, {len(str(landing)) + 2}) as _source_file, "
            f"file_row_number + 1 as _source_row "
            f"from read_parquet({files}, filename = true, file_row_number = true)"
        )
    return con


def peer_rows(landing: Path) -> pd.DataFrame:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rows = con.sql(peer.query(con, landing)).df()
    con.close()
    return rows


def keyed(frame: pd.DataFrame, month: str, value: str) -> dict:
    """{(customer_id, month): value} with months as timestamps on both sides."""
    months = pd.to_datetime(frame[month]).rename("month")
    return frame.set_index([frame["customer_id"], months])[value].to_dict()


def assert_same_as_independent(landing: Path) -> pd.DataFrame:
    theirs = peer_rows(landing)
    assert not theirs.duplicated(["customer_id", "date_month"]).any()
    raw = raw_tables(landing)
    expected, _ = customer_month_mrr(raw)
    got = keyed(theirs[theirs["mrr"] > 0], "date_month", "mrr")
    want = keyed(expected, "month_start", "mrr")
    assert got.keys() == want.keys()
    # a cent apart is allowed, as in peer.py: pandas sums floats, the peer decimals (like dbt),
    # so a sum on a half cent may round either way
    assert all(abs(float(got[k]) - want[k]) < 0.0100001 for k in want)

    # the playbook's names; no category (a paying month like the one before) is our retained
    moved = theirs[(theirs["mrr"] > 0) | (theirs["previous_month_mrr"] > 0)].assign(
        movement=lambda d: d["change_category"].map(
            lambda v: PLAYBOOK_MOVEMENTS.get(v, v) if isinstance(v, str) else "retained"
        )
    )
    assert keyed(moved, "date_month", "movement") == keyed(
        movements(raw), "month_start", "movement"
    )
    raw.close()
    return theirs


def event(event_id, subscription, customer, occurred_at, status="active", **values) -> dict:
    types = {
        "active": "activated",
        "trialing": "trial_started",
        "paused": "paused",
        "canceled": "canceled",
    }
    return {
        "event_id": event_id,
        "subscription_id": subscription,
        "customer_id": customer,
        "event_type": types[status],
        "status": status,
        "occurred_at": occurred_at,
        "plan_id": "pro-m-usd",
        "quantity": 1,
        **values,
    }


def plan(plan_id, interval, amount, currency, updated_at) -> dict:
    return {
        "plan_id": plan_id,
        "product": "p",
        "plan_name": plan_id,
        "tier": "pro",
        "billing_interval": interval,
        "interval_count": 1,
        "unit_amount": amount,
        "currency": currency,
        "trial_days": 0,
        "updated_at": updated_at,
    }


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("peer") / "landing"
    eur = {"plan_id": "biz-y-eur"}
    land(
        landing,
        "plans",
        "plans-1.parquet",
        [
            plan("pro-m-usd", "month", "10", "USD", "2024-01-01T00:00:00Z"),
            plan("pro-m-usd", "month", "20", "USD", "2024-03-15T00:00:00Z"),  # a price change
            plan("biz-y-eur", "year", "120", "EUR", "2024-01-01T00:00:00Z"),
        ],
    )
    land(
        landing,
        "fx_rates",
        "fx-1.parquet",  # no USD row: USD is 1
        [
            {"rate_date": "2024-01-01", "currency": "EUR", "rate_to_usd": "1.10"},
            {"rate_date": "2024-03-01", "currency": "EUR", "rate_to_usd": "1.20"},
        ],
    )
    land(
        landing,
        "subscription_events",
        "events-1.parquet",
        [
            # two subscriptions summed; a quantity change after the price change; a tie at one
            # instant (the later event_id wins); a cancel
            event("a1_1", "a1", "cus_a", "2024-01-10T12:00:00Z", quantity=2),
            event("a1_2", "a1", "cus_a", "2024-04-02T00:00:00Z", quantity=3),
            event("a1_3", "a1", "cus_a", "2024-06-05T00:00:00Z", "canceled"),
            event("a2_1", "a2", "cus_a", "2024-02-20T09:00:00+02:00", **eur),
            event("a2_2", "a2", "cus_a", "2024-05-01T00:00:00Z", quantity=2, **eur),
            event("a2_3", "a2", "cus_a", "2024-05-01T00:00:00Z", quantity=2, discount_pct=9, **eur),
            # paid and left inside one month (the blind spot), then again later
            event("b1_1", "b1", "cus_b", "2024-02-03T00:00:00Z"),
            event("b1_2", "b1", "cus_b", "2024-02-25T00:00:00Z", "canceled"),
            event("b1_3", "b1", "cus_b", "2024-04-10T00:00:00Z"),
            event("b1_4", "b1", "cus_b", "2024-04-20T00:00:00Z", "canceled"),
            # churn in February, then a spell inside March: the spine already has February
            event("c1_1", "c1", "cus_c", "2024-01-05T00:00:00Z", unit_amount="15"),
            event("c1_2", "c1", "cus_c", "2024-02-10T00:00:00Z", "canceled"),
            event("c2_1", "c2", "cus_c", "2024-03-03T00:00:00Z"),
            event("c2_2", "c2", "cus_c", "2024-03-20T00:00:00Z", "canceled"),
            # trial, paid at half price, paused (churn), resumed at the new price (reactivation)
            event("d1_1", "d1", "cus_d", "2024-01-01T00:00:00Z", "trialing"),
            event("d1_2", "d1", "cus_d", "2024-01-15T00:00:00Z", discount_pct=50),
            event("d1_3", "d1", "cus_d", "2024-03-10T00:00:00Z", "paused", discount_pct=50),
            event("d1_4", "d1", "cus_d", "2024-05-02T00:00:00Z", discount_pct=50),
        ],
    )
    # a later file re-delivers a1_2 with another quantity (it wins) and d1_1 unchanged
    land(
        landing,
        "subscription_events",
        "events-2.parquet",
        [
            event("a1_2", "a1", "cus_a", "2024-04-02T00:00:00Z", quantity=4),
            event("d1_1", "d1", "cus_d", "2024-01-01T00:00:00Z", "trialing"),
        ],
    )
    return landing


def test_peer_matches_independent_on_hand_made_rows(hand_made):
    rows = assert_same_as_independent(hand_made)
    mrr = {
        (c, str(m)[:7]): float(v)
        for c, m, v in zip(rows["customer_id"], rows["date_month"], rows["mrr"], strict=True)
    }
    # cus_a in May: 4 seats x 20 (re-delivered quantity, new price) + 2 x 120/12 x 0.91 EUR x 1.20
    assert mrr[("cus_a", "2024-05")] == pytest.approx(101.84)
    assert mrr[("cus_a", "2024-02")] == pytest.approx(20 + 11.00)  # EUR at the 2024-01-01 rate
    assert not any(c == "cus_b" and v > 0 for (c, _), v in mrr.items())
    assert mrr[("cus_c", "2024-02")] == 0
    assert mrr[("cus_d", "2024-05")] == pytest.approx(10.00)


def test_peer_matches_independent_on_generated_landing(tmp_path):
    landing = tmp_path / "landing"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "subscriber-warehouse"),
            "generate",
            "--customers",
            "200",
            "--seed",
            "3",
            "--out",
            str(landing),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    events = con.sql(
        f"select * from read_parquet('{landing}/subscription_events/*/*.parquet') "
        "where status = 'active' order by event_id"
    ).df()
    plans = con.sql(f"select * from read_parquet('{landing}/plans/*.parquet')").df()
    con.close()
    # a conflicting re-delivery in a later day's delivery (the generated history ends on
    # 2025-12-31), and a new price for every plan from mid-2025
    land(
        landing,
        "subscription_events",
        "subscription_events-zz.parquet",
        events.head(20).assign(quantity=events.head(20)["quantity"] + 3).to_dict("records"),
        day="2026-01-01",
    )
    land(
        landing,
        "plans",
        "plans-zz.parquet",
        plans.drop_duplicates("plan_id")
        .assign(unit_amount=plans["unit_amount"] * 2, updated_at=pd.Timestamp("2025-07-01"))
        .to_dict("records"),
    )
    assert_same_as_independent(landing)
