"""The Stripe converter (generate --format stripe), checked from the files it writes.

A small native landing is generated and converted; every expectation is worked out here from the
native Parquet files and the Stripe contract (the sources YAML) with plain pandas, never with the
converter's code. The key check rebuilds month-end MRR from the Stripe shape the way the
warehouse's mapping reads it and compares it with the native events, to the cent.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from subscriber_warehouse.contract import currency_minor_units
from subscriber_warehouse.generate import generate
from subscriber_warehouse.generate.stripe import write_stripe

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "dbt_project/models/staging/stripe/_stripe__sources.yml"
START, MONTHS = dt.date(2024, 1, 1), 18
REPLACED = ("customers", "plans", "subscription_events", "invoices", "payments", "refunds")
KEPT = (
    "usage_events",
    "support_tickets",
    "campaigns",
    "campaign_touches",
    "campaign_assignments",
    "preferences",
    "customer_attributes",
    "social_interactions",
    "fx_rates",
)
TS = pa.timestamp("us", tz="UTC")
FACTOR = {"month": 1.0, "year": 1 / 12, "week": 52 / 12, "day": 365 / 12}
UNITS = currency_minor_units()


def declared() -> dict[str, list[tuple[str, str]]]:
    spec = yaml.safe_load(SOURCES.read_text(encoding="utf-8"))["sources"][0]
    return {t["name"]: [(c["name"], c["data_type"]) for c in t["columns"]] for t in spec["tables"]}


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("native")
    generate(out, customers=300, seed=7, start=START, months=MONTHS, fmt="parquet", progress=False)
    return out


@pytest.fixture(scope="module")
def converted(native, tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("stripe")
    return out, write_stripe(native, out)


@pytest.fixture(scope="module")
def stripe(converted) -> dict[str, pd.DataFrame]:
    out, _ = converted
    return {t: read(out, t) for t in declared()}


def read(out: Path, table: str, name: str | None = None) -> pd.DataFrame:
    return pq.read_table(out / "stripe" / table / f"{name or table}.parquet").to_pandas()


def read_native_table(landing: Path, table: str) -> pd.DataFrame:
    files = sorted((landing / table).rglob("*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pandas()


# -- shape ------------------------------------------------------------------------------------
def test_every_declared_table_has_exactly_its_columns_and_types(converted):
    out, counts = converted
    arrow = {
        "str": [pa.string()],
        "json": [pa.string()],
        "ts": [TS],
        "int": [pa.int64()],
        "bool": [pa.bool_()],
        "decimal": [pa.decimal128(18, 8), pa.string()],
    }
    assert set(counts) == set(declared())
    for table, columns in declared().items():
        files = sorted(p.name for p in (out / "stripe" / table).iterdir())
        assert files == [f"{table}.parquet"], table  # clean mode: no dirt files
        schema = pq.read_schema(out / "stripe" / table / f"{table}.parquet")
        assert schema.names == [name for name, _ in columns], table
        for name, kind in columns:
            assert schema.field(name).type in arrow[kind], (table, name)
        assert (
            pq.read_metadata(out / "stripe" / table / f"{table}.parquet").num_rows
            == (counts[table])
        )
        assert counts[table] > 0, table


def test_ids_are_unique_and_versions_chain(stripe):
    for table, df in stripe.items():
        key = ["id", "_fivetran_start"] if table == "subscription_history" else ["id"]
        assert not df.duplicated(key).any(), table
        assert df["id"].notna().all() and df["_fivetran_synced"].notna().all(), table
    h = stripe["subscription_history"].sort_values(["id", "_fivetran_start"])
    assert (h.groupby("id")["_fivetran_active"].sum() == 1).all()
    assert h.groupby("id")["_fivetran_active"].last().all()  # the active one is the latest
    assert (h["_fivetran_start"] < h["_fivetran_end"]).all()
    nxt = h.groupby("id")["_fivetran_start"].shift(-1)
    chained = h["_fivetran_end"][nxt.notna()] == nxt[nxt.notna()]
    assert chained.all()  # no overlap, no gap
    current = h[h["_fivetran_active"]]
    assert (current["_fivetran_end"] == pd.Timestamp("9999-12-31 23:59:59", tz="UTC")).all()
    sub = stripe["subscription"].set_index("id").sort_index()
    assert sub["_fivetran_active"].isna().all() and sub["_fivetran_start"].isna().all()
    latest = current.set_index("id").sort_index()
    assert (sub["status"] == latest["status"]).all()
    assert (sub["_fivetran_synced"] == latest["_fivetran_synced"]).all()


def test_currencies_are_lower_case_known_codes(stripe):
    known = {c.lower() for c in UNITS}
    for table, df in stripe.items():
        if "currency" in df and table != "coupon":  # percent-off coupons have no currency
            codes = set(df["currency"].dropna())
            assert codes and codes <= known, table
            assert all(c == c.lower() for c in codes), table


def test_native_tables_are_copied_unchanged(native, converted):
    out, _ = converted
    for table in KEPT:
        src = sorted(p.relative_to(native) for p in (native / table).rglob("*") if p.is_file())
        dst = sorted(p.relative_to(out) for p in (out / table).rglob("*") if p.is_file())
        assert src and src == dst, table
        for rel in src:
            assert filecmp.cmp(native / rel, out / rel, shallow=False), rel
    for table in REPLACED:
        assert not (out / table).exists(), table


# -- the key check: month-end MRR carried by the Stripe shape ---------------------------------
def month_boundaries() -> list[pd.Timestamp]:
    first = pd.Timestamp(START, tz="UTC")
    return [first + pd.DateOffset(months=k) for k in range(1, MONTHS + 1)]


def native_mrr(landing: Path) -> pd.Series:
    """MRR per (customer, month end) in minor units, from the native events as they are."""
    ev = read_native_table(landing, "subscription_events")
    ev = ev.sort_values(["subscription_id", "occurred_at", "event_id"], kind="stable")
    plans = read_native_table(landing, "plans").sort_values(["plan_id", "updated_at"])
    # the plan version in force at the event (the first one before its first update)
    resolved = []
    for plan_id, versions in plans.groupby("plan_id"):
        rows = ev[ev["plan_id"] == plan_id]
        idx = np.searchsorted(versions["updated_at"].to_numpy(), rows["occurred_at"], "right")
        chosen = versions.iloc[np.clip(idx - 1, 0, None)]
        resolved.append(
            pd.DataFrame(
                {
                    "plan_unit": chosen["unit_amount"].to_numpy(),
                    "plan_currency": chosen["currency"].to_numpy(),
                    "interval": chosen["billing_interval"].to_numpy(),
                    "count": chosen["interval_count"].to_numpy(),
                },
                index=rows.index,
            )
        )
    ev = ev.join(pd.concat(resolved))
    currency = ev["currency"].fillna(ev["plan_currency"])
    unit = ev["unit_amount"].where(ev["unit_amount"].notna(), ev["plan_unit"])
    unit_minor = [round(Decimal(u) * 10 ** UNITS[c]) for u, c in zip(unit, currency, strict=True)]
    pct = ev["discount_pct"].map(lambda d: 0.0 if d is None else float(d))
    factor = ev["interval"].map(FACTOR) / ev["count"]
    ev["mrr"] = np.array(unit_minor, dtype=float) * ev["quantity"] * (1 - pct / 100) * factor
    ev.loc[ev["status"] != "active", "mrr"] = 0.0
    parts = []
    for boundary in month_boundaries():
        at_end = ev[ev["occurred_at"] < boundary].groupby("subscription_id").tail(1)
        parts.append(at_end.groupby("customer_id")["mrr"].sum().rename(boundary))
    return _stack(parts)


def stripe_mrr(stripe: dict[str, pd.DataFrame]) -> pd.Series:
    """MRR per (customer, month end) rebuilt from the Stripe tables, as the mapping reads them."""
    h = stripe["subscription_history"]
    lines = stripe["invoice_line_item"]
    # a void invoice bills nothing: its lines state nothing either
    void = stripe["invoice"].loc[stripe["invoice"]["status"] == "void", "id"]
    lines = lines[lines["subscription_id"].notna() & ~lines["invoice_id"].isin(void)].copy()
    price = stripe["price"].set_index("id")
    # a Stripe price's amount never changes: what a line's price is, is its unit amount
    # (a proration line's unit_amount_excluding_tax is the prorated amount per unit)
    lines["unit_minor"] = lines["price_id"].map(price["unit_amount"]).astype("float64")
    state_lines = lines[~lines["proration"] | (lines["amount"] > 0)]
    period_lines = lines[~lines["proration"]]
    factor = price["recurring_interval"].map(FACTOR) / price["recurring_interval_count"]
    disc = stripe["discount"].merge(
        stripe["coupon"][["id", "percent_off"]].rename(columns={"id": "coupon_id"}), "left"
    )
    far = pd.Timestamp("2999-01-01", tz="UTC")
    parts = []
    for boundary in month_boundaries():
        v = h[(h["_fivetran_start"] < boundary) & (h["_fivetran_end"] >= boundary)]
        assert not v["id"].duplicated().any()
        paying = (
            v["status"].isin(("active", "past_due"))
            & v["pause_collection_behavior"].isna()
            & ~(v["ended_at"] < boundary)
        )
        v = v[paying].set_index("id")
        state = (
            state_lines[state_lines["period_start"] < boundary]
            .sort_values("period_start")
            .groupby("subscription_id")
            .tail(1)
            .set_index("subscription_id")
        )
        start = (
            period_lines[period_lines["period_start"] < boundary]
            .sort_values("period_start")
            .groupby("subscription_id")["period_start"]
            .last()
        )
        d = disc.merge(start.rename("line_start"), left_on="subscription_id", right_index=True)
        d = d[(d["start"] <= d["line_start"]) & (d["line_start"] < d["end"].fillna(far))]
        assert not d["subscription_id"].duplicated().any()
        pct = d.set_index("subscription_id")["percent_off"].map(float)
        s = state.loc[v.index]
        mrr = (
            s["unit_minor"]
            * s["quantity"]
            * (1 - pct.reindex(v.index).fillna(0.0) / 100)
            * s["price_id"].map(factor)
        )
        parts.append(mrr.groupby(v["customer_id"]).sum().rename(boundary))
    return _stack(parts)


def _stack(parts: list[pd.Series]) -> pd.Series:
    frame = pd.concat(parts, axis=1).fillna(0.0)
    stacked = frame.stack()
    return stacked[stacked.abs() > 1e-9].sort_index()


def test_stripe_shape_carries_month_end_mrr(native, stripe):
    expected = native_mrr(native)
    actual = stripe_mrr(stripe)
    assert len(expected) > 1000  # the business has history: ~300 customers over 18 months
    assert list(actual.index) == list(expected.index)
    worst = (actual - expected).abs().max()
    assert worst < 0.005, f"MRR differs by {worst} minor units"


# -- money ------------------------------------------------------------------------------------
def test_invoice_totals_are_the_sum_of_their_lines(native, stripe):
    inv = stripe["invoice"].set_index("id")
    lines = stripe["invoice_line_item"]
    assert set(lines["invoice_id"]) == set(inv.index)
    sums = lines.groupby("invoice_id")["amount"].sum()
    assert (sums.reindex(inv.index) == inv["subtotal"]).all()
    # the native invoices keep their ids and amounts
    nat = read_native_table(native, "invoices").sort_values("updated_at")
    nat = nat.drop_duplicates("invoice_id", keep="last").set_index("invoice_id")
    minor = [
        round(s * 10 ** UNITS[c]) for s, c in zip(nat["subtotal"], nat["currency"], strict=True)
    ]
    assert (inv.loc[nat.index, "subtotal"].to_numpy() == np.array(minor)).all()
    assert (inv.loc[nat.index, "status"] == nat["status"]).all()
    # prorations: a credit for the old state, a charge for the new one, inside the period
    pro = lines[lines["proration"]]
    assert len(pro) > 100
    first = pro["id"].str.endswith("_1")
    assert (pro.loc[first, "amount"] < 0).all() and (pro.loc[~first, "amount"] > 0).all()
    assert pro["description"][first].str.startswith("Unused time on ").all()
    assert pro["description"][~first].str.startswith("Remaining time on ").all()
    upd = inv[inv["billing_reason"] == "subscription_update"]
    assert len(upd) * 2 == len(pro)
    assert (upd["total"] == upd["subtotal"]).all()


def test_billed_periods_do_not_overlap(stripe):
    inv = stripe["invoice"].set_index("id")
    lines = stripe["invoice_line_item"]
    billed = lines[~lines["proration"] & lines["subscription_id"].notna()]
    billed = billed[billed["invoice_id"].map(inv["status"]) != "void"]
    billed = billed.sort_values(["subscription_id", "period_start"])
    assert (billed["period_start"] < billed["period_end"]).all()
    nxt = billed.groupby("subscription_id")["period_start"].shift(-1)
    assert (billed["period_end"][nxt.notna()] <= nxt[nxt.notna()]).all()
    # a proration falls inside the period it prorates
    pro = lines[lines["proration"]]
    assert (pro["period_start"] < pro["period_end"]).all()


def test_prorations_follow_the_state_chain(stripe):
    """Each proration's credited (old) state is the state the previous period or proration line
    of its subscription charged."""
    lines = stripe["invoice_line_item"]
    lines = lines[lines["subscription_id"].notna()].sort_values(["subscription_id", "period_start"])
    state = lines[~lines["proration"] | (lines["amount"] > 0)]
    cols = ["price_id", "quantity"]
    before = state.groupby("subscription_id")[cols].shift(1)
    credited = lines[lines["proration"] & (lines["amount"] < 0)].set_index("invoice_id")[cols]
    charged = state[state["proration"]].set_index("invoice_id")
    previous = before.loc[state["proration"]].set_index(charged.index)
    assert len(credited) == len(previous)
    assert (credited.sort_index() == previous.sort_index()).all().all()


def test_payments_reference_what_they_pay(native, stripe):
    inv = set(stripe["invoice"]["id"])
    charges = stripe["charge"]
    assert charges["invoice_id"].isin(inv).all()
    assert set(charges["payment_intent_id"]) == set(stripe["payment_intent"]["id"])
    assert stripe["refund"]["charge_id"].isin(set(charges["id"])).all()
    nat_pay = read_native_table(native, "payments")
    assert set(nat_pay["payment_id"]) <= set(charges["id"])
    ok = charges[charges["paid"]]
    txn = stripe["balance_transaction"].set_index("id")
    assert (txn.loc[ok["balance_transaction_id"], "source"].to_numpy() == ok["id"]).all()
    assert (txn["net"] == txn["amount"] - txn["fee"]).all()
    refunds = stripe["refund"]
    assert (txn.loc[refunds["balance_transaction_id"], "amount"].to_numpy() < 0).all()
    refunded = refunds.groupby("charge_id")["amount"].sum()
    assert (charges.set_index("id").loc[refunded.index, "amount_refunded"] == refunded).all()


def test_every_spell_with_a_paid_period_has_its_item(native, stripe):
    inv = stripe["invoice"]
    paid = inv[(inv["status"] == "paid") & inv["billing_reason"].str.startswith("subscription_")]
    items = stripe["subscription_item"]
    assert set(paid["subscription_id"]) <= set(items["subscription_id"])
    assert (items["id"] == "si_" + items["subscription_id"]).all()
    assert set(items["subscription_id"]) == set(stripe["subscription"]["id"])
    assert items["plan_id"].isin(set(stripe["price"]["id"])).all()
    # one Stripe subscription per native subscription and reactivation
    ev = read_native_table(native, "subscription_events")
    spells = ev["subscription_id"].nunique() + (ev["event_type"] == "reactivated").sum()
    assert len(stripe["subscription"]) == spells


def test_customers_and_catalog(native, stripe):
    cust = stripe["customer"].set_index("id")
    nat = read_native_table(native, "customers").sort_values("updated_at")
    nat = nat.drop_duplicates("customer_id", keep="last").set_index("customer_id")
    assert set(cust.index) == set(nat.index)
    assert (cust.loc[nat.index, "email"] == nat["email"]).all()
    assert cust.loc[nat.index, "phone"].fillna("").tolist() == nat["phone"].fillna("").tolist()
    for meta, channel in zip(
        cust.loc[nat.index, "metadata"], nat["acquisition_channel"], strict=True
    ):
        assert json.loads(meta).get("acquisition_channel") == (
            channel if isinstance(channel, str) else None
        )
    plans = read_native_table(native, "plans")
    prices = stripe["price"]
    # a price per plan (its current amount), and one per other amount a plan was paid at
    assert set(plans["plan_id"]) <= set(prices["id"]) == set(stripe["plan"]["id"])
    extra = prices[~prices["id"].isin(plans["plan_id"])]
    assert len(extra) and extra["id"].str.rsplit("_", n=1).str[0].isin(plans["plan_id"]).all()
    lines = stripe["invoice_line_item"]
    assert lines.loc[lines["price_id"].notna(), "price_id"].isin(set(prices["id"])).all()
    assert stripe["price"]["product_id"].isin(set(stripe["product"]["id"])).all()
    jpy = stripe["price"][stripe["price"]["currency"] == "jpy"]
    assert len(jpy) and (jpy["unit_amount"] % 100 == 0).all()  # whole yen, no "cents"


def test_cancel_at_period_end_is_requested_before(stripe):
    h = stripe["subscription_history"]
    asked = h[h["cancel_at_period_end"] & (h["status"] == "active")]
    ended = h[h["cancel_at_period_end"] & (h["status"] == "canceled")].set_index("id")
    assert len(asked) > 10 and set(asked["id"]) == set(ended.index)
    asked = asked.set_index("id").loc[ended.index]
    assert (ended["canceled_at"] == asked["_fivetran_start"]).all()
    assert (ended["ended_at"] == ended["cancel_at"]).all()
    assert (ended["ended_at"] == ended["_fivetran_start"]).all()
    assert (ended["ended_at"] == ended["current_period_end"]).all()
    assert (asked["canceled_at"] < asked["cancel_at"]).all()


# -- determinism and dirt ---------------------------------------------------------------------
def test_conversion_is_deterministic_and_dirt_is_extra(native, converted, tmp_path):
    out, counts = converted
    dirty_counts = write_stripe(native, tmp_path, dirty=True)
    for table in declared():
        again = pq.read_table(tmp_path / "stripe" / table / f"{table}.parquet")
        assert again.equals(pq.read_table(out / "stripe" / table / f"{table}.parquet")), table
    dirt = {
        p.parent.name: pq.read_table(p).to_pandas()
        for p in (tmp_path / "stripe").glob("*/*-dirt.parquet")
    }
    assert set(dirt) == {"invoice_line_item", "subscription_history", "price", "subscription_item"}
    for table, rows in dirt.items():
        assert dirty_counts[table] == counts[table] + len(rows)
        assert 1 <= len(rows) <= 5
    for table, key in (
        ("invoice_line_item", ["id"]),
        ("subscription_history", ["id", "_fivetran_start"]),
    ):
        clean = read(tmp_path, table).set_index(key)
        stale = dirt[table].set_index(key)
        assert stale.index.isin(clean.index).all()  # a second copy of a landed row
        orig = clean.loc[stale.index]
        assert (stale["_fivetran_synced"] < orig["_fivetran_synced"]).all()
        differs = stale.drop(columns="_fivetran_synced") != orig.drop(columns="_fivetran_synced")
        assert (differs & stale.drop(columns="_fivetran_synced").notna()).any(axis=1).all()
    assert (dirt["price"]["currency"] == "zzz").all()
    prices = set(read(tmp_path, "price")["id"])
    assert not dirt["subscription_item"]["plan_id"].isin(prices).any()
    # converting clean again removes the dirt files
    write_stripe(native, tmp_path)
    assert not list((tmp_path / "stripe").glob("*/*-dirt.parquet"))
