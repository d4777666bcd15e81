"""The Chargebee converter (generate --format chargebee), checked from the files alone.

A small native landing is generated and converted; every expected number is worked out here from
the native Parquet files with plain pandas and from the JSON lines with plain json, never with
the converter's own code. The key check: the month-end MRR a reader rebuilds from Chargebee's
event log equals the native subscription events' MRR, for every customer and month.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from subscriber_warehouse.contract import currency_minor_units
from subscriber_warehouse.generate import generate
from subscriber_warehouse.generate.chargebee import write_chargebee

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "dbt_project/models/staging/chargebee/_chargebee__sources.yml"
START, MONTHS = dt.date(2024, 1, 1), 18
BILLING = {"customers", "plans", "subscription_events", "invoices", "payments", "refunds"}
COPIED = {
    "usage_events",
    "support_tickets",
    "campaigns",
    "campaign_touches",
    "campaign_assignments",
    "preferences",
    "customer_attributes",
    "social_interactions",
    "fx_rates",
}
MONTHLY = {"month": 1.0, "year": 1 / 12, "week": 52 / 12}  # per 1 period unit
PAYING = {"active", "non_renewing"}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


TYPE_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "epoch": _is_int,
    "int": _is_int,
    "bool": lambda v: isinstance(v, bool),
    "json": lambda v: isinstance(v, dict),
    "json_array": lambda v: isinstance(v, list),
    "decimal": lambda v: _is_int(v) or isinstance(v, float),
}


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("native")
    generate(out, customers=300, seed=7, start=START, months=MONTHS, fmt="parquet", progress=False)
    return out


@pytest.fixture(scope="module")
def converted(native, tmp_path_factory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("chargebee")
    return out, write_chargebee(native, out)


@pytest.fixture(scope="module")
def objects(converted) -> dict[str, list[dict]]:
    out, _ = converted
    return {name: _read_lines(out / "chargebee" / name / f"{name}.jsonl") for name in _declared()}


def _declared() -> dict[str, dict]:
    tables = yaml.safe_load(SOURCES.read_text())["sources"][0]["tables"]
    return {t["name"]: t for t in tables}


def _read_lines(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _no_nulls(value) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return True


# -- native side, from the Parquet files -------------------------------------------------------
def _parquet(landing: Path, table: str) -> pd.DataFrame:
    files = sorted((landing / table).rglob("*.parquet"))
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)


def _epoch(col: pd.Series) -> np.ndarray:
    return ((col - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(currency_minor_units()[currency]))


def _native_states(landing: Path) -> pd.DataFrame:
    """Each native subscription event with its price resolved (the plan version in force at its
    instant unless it carries its own) and its monthly recurring revenue in minor units."""
    events = _parquet(landing, "subscription_events").drop_duplicates("event_id", keep="last")
    events["t"] = _epoch(events["occurred_at"])
    plans = _parquet(landing, "plans")
    plans["t"] = _epoch(plans["updated_at"])
    rows = []
    for e in events.itertuples():
        versions = plans[plans["plan_id"] == e.plan_id].sort_values("t")
        before = versions[versions["t"] <= e.t]
        plan = (before if len(before) else versions).iloc[-1 if len(before) else 0]
        currency = e.currency if isinstance(e.currency, str) else plan["currency"]
        unit = e.unit_amount if e.unit_amount is not None else plan["unit_amount"]
        pct = e.discount_pct if e.discount_pct is not None else Decimal(0)
        factor = MONTHLY[plan["billing_interval"]] / plan["interval_count"]
        mrr = _minor(unit, currency) * e.quantity * (1 - float(pct) / 100) * factor
        rows.append(
            (e.subscription_id, e.customer_id, e.t, e.event_id, mrr if e.status == "active" else 0)
        )
    cols = ["sub", "customer", "t", "order", "mrr"]
    return pd.DataFrame(rows, columns=cols)


def _chargebee_states(events: list[dict], coupons: list[dict]) -> pd.DataFrame:
    """Each Chargebee event's subscription snapshot and its MRR, as a reader of the event log
    computes it: items' amounts less the coupons' percentages, per month."""
    pct = {c["id"]: c["discount_percentage"] for c in coupons}
    rows = []
    for e in events:
        s = e["content"]["subscription"]
        mrr = 0.0
        if s["status"] in PAYING:
            amount = sum(i["amount"] for i in s["subscription_items"])
            off = sum(pct[c["coupon_id"]] for c in s.get("coupons", []))
            mrr = amount * (1 - off / 100) * MONTHLY[s["billing_period_unit"]] / s["billing_period"]
        rows.append((s["id"], s["customer_id"], e["occurred_at"], s["resource_version"], mrr))
    return pd.DataFrame(rows, columns=["sub", "customer", "t", "order", "mrr"])


def _month_ends() -> list[int]:
    """The last second of every month of the horizon."""
    starts = pd.date_range(START, periods=MONTHS + 1, freq="MS", tz="UTC")
    return [int(s.timestamp()) - 1 for s in starts[1:]]


def _mrr_by_month(states: pd.DataFrame) -> dict[tuple[str, int], float]:
    """Customer and month end -> MRR of the last state of each subscription at or before it."""
    states = states.sort_values(["sub", "t", "order"])
    out: dict[tuple[str, int], float] = {}
    for end in _month_ends():
        last = states[states["t"] <= end].groupby("sub").tail(1)
        for customer, mrr in last.groupby("customer")["mrr"].sum().items():
            if mrr:
                out[(customer, end)] = mrr
    return out


# -- the files ---------------------------------------------------------------------------------
def test_every_declared_object_has_its_fields_with_their_types(converted, objects):
    out, counts = converted
    for name, table in _declared().items():
        lines = objects[name]
        assert lines, f"{name}: no lines"
        assert counts[name] == len(lines)
        path = out / "chargebee" / name / f"{name}.jsonl"
        for text, obj in zip(path.read_text(encoding="utf-8").splitlines(), lines, strict=True):
            assert text == json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        ids = [obj["id"] for obj in lines]
        assert len(ids) == len(set(ids)), f"{name}: ids repeat"
        for obj in lines:
            assert obj["object"] == name
            assert _no_nulls(obj), f"{name} {obj['id']}: a null (Chargebee leaves keys out)"
            for col in table["columns"]:
                if (col.get("meta") or {}).get("required"):
                    assert col["name"] in obj, f"{name} {obj['id']}: no {col['name']}"
                if col["name"] in obj:
                    ok = TYPE_CHECKS[col["data_type"]](obj[col["name"]])
                    assert ok, f"{name} {obj['id']}: {col['name']} is not {col['data_type']}"
            if name not in ("item", "item_price", "event"):
                assert obj["deleted"] is False
            if name != "event":
                assert _is_int(obj["resource_version"])


def test_currency_codes_are_upper_case_and_amounts_minor_units(native, objects):
    codes = {
        o["currency_code"] for n in ("item_price", "invoice", "transaction") for o in objects[n]
    }
    assert codes and all(c == c.upper() and len(c) == 3 for c in codes)
    plans = (
        _parquet(native, "plans").sort_values("updated_at").drop_duplicates("plan_id", keep="last")
    )
    prices = {p["id"]: p["price"] for p in objects["item_price"]}
    assert len(prices) == len(plans)
    for plan in plans.itertuples():
        assert prices[plan.plan_id] == _minor(plan.unit_amount, plan.currency)
    jpy = plans[plans["currency"] == "JPY"].iloc[0]
    assert prices[jpy["plan_id"]] == int(jpy["unit_amount"])  # JPY has no minor unit


def test_events_belong_to_subscriptions_and_versions_follow_time(objects):
    subs = {s["id"]: s for s in objects["subscription"]}
    by_sub: dict[str, list[tuple[int, int, dict]]] = {}
    for e in objects["event"]:
        s = e["content"]["subscription"]
        assert s["id"] in subs
        assert s["updated_at"] == e["occurred_at"]
        assert e["content"]["customer"]["id"] == s["customer_id"]
        by_sub.setdefault(s["id"], []).append((e["occurred_at"], s["resource_version"], s))
    assert set(by_sub) == set(subs)
    for sub_id, history in by_sub.items():
        history.sort(key=lambda h: (h[0], h[1]))
        versions = [h[1] for h in history]
        assert (np.diff(versions) > 0).all(), sub_id
        assert history[-1][2] == subs[sub_id], f"{sub_id}: subscription is not its last state"


def test_every_billing_period_start_has_an_event(objects):
    instants = {(e["content"]["subscription"]["id"], e["occurred_at"]) for e in objects["event"]}
    recurring = [i for i in objects["invoice"] if i["recurring"]]
    assert recurring
    for inv in recurring:
        assert (inv["subscription_id"], inv["line_items"][0]["date_from"]) in instants


def test_month_end_mrr_matches_the_native_events(native, objects):
    expected = _mrr_by_month(_native_states(native))
    got = _mrr_by_month(_chargebee_states(objects["event"], objects["coupon"]))
    assert len(expected) > 1000  # a real test: most customer-months pay
    assert set(got) == set(expected)
    for key, mrr in expected.items():
        assert got[key] == pytest.approx(mrr, abs=1e-6), key


def test_the_reconstruction_sees_every_kind_of_state(objects):
    """The MRR check is only as strong as the states it meets at month ends."""
    statuses = {e["content"]["subscription"]["status"] for e in objects["event"]}
    assert statuses == {"in_trial", "active", "non_renewing", "paused", "cancelled"}
    assert any("coupons" in e["content"]["subscription"] for e in objects["event"])
    units = {s["billing_period_unit"] for s in objects["subscription"]}
    assert {"month", "year"} <= units


def test_cancels(objects):
    events = objects["event"]
    cancels = [e for e in events if e["event_type"] == "subscription_cancelled"]
    assert cancels
    for e in cancels:
        s = e["content"]["subscription"]
        assert s["status"] == "cancelled" and s["cancelled_at"] == e["occurred_at"]
        assert ("cancel_reason" in s) != ("cancel_reason_code" in s)
    assert any(e["content"]["subscription"].get("cancel_reason") == "not_paid" for e in cancels)
    scheduled = [e for e in events if e["event_type"] == "subscription_cancellation_scheduled"]
    assert scheduled
    final = {
        (e["content"]["subscription"]["id"], e["occurred_at"]): e["content"]["subscription"]
        for e in cancels
    }
    for e in scheduled:
        s = e["content"]["subscription"]
        assert s["status"] == "non_renewing"
        assert s["cancelled_at"] > e["occurred_at"]
        assert s["cancelled_at"] - e["occurred_at"] <= 7 * 86_400
        assert s["cancelled_at"] == s["current_term_end"]
        cancel = final[(s["id"], s["cancelled_at"])]  # the cancel it scheduled happens
        assert cancel["cancel_reason_code"] == s["cancel_reason_code"]


def test_money_adds_up(native, objects):
    invoices = {i["id"]: i for i in objects["invoice"]}
    for inv in invoices.values():
        assert inv["sub_total"] == sum(li["amount"] for li in inv["line_items"])
        discount = sum(d["amount"] for d in inv.get("discounts", []))
        assert inv["total"] == inv["sub_total"] - discount + inv["tax"]
        for li in inv["line_items"]:
            assert li["amount"] == li["unit_amount"] * li["quantity"]
            assert li["date_to"] >= li["date_from"]
        assert inv["amount_paid"] + inv["amount_due"] == (
            0 if inv["status"] == "voided" else inv["total"]
        )
    native_inv = _parquet(native, "invoices").sort_values("updated_at")
    native_inv = native_inv.drop_duplicates("invoice_id", keep="last")
    assert len(native_inv) == len(invoices)
    for row in native_inv.itertuples():
        assert invoices[row.invoice_id]["total"] == _minor(row.total, row.currency)

    txns = {t["id"]: t for t in objects["transaction"]}
    payments = {t["id"] for t in txns.values() if t["type"] == "payment"}
    assert len(payments) == len(_parquet(native, "payments"))
    for t in txns.values():
        for link in t.get("linked_invoices", []):
            assert link["invoice_id"] in invoices
            assert invoices[link["invoice_id"]]["customer_id"] == t["customer_id"]
        if t["type"] == "refund":
            assert t["refunded_txn_id"] in payments
            assert t["amount"] <= txns[t["refunded_txn_id"]]["amount"]
    paid = {}
    for t in txns.values():
        if t["type"] == "payment" and t["status"] == "success":
            for link in t["linked_invoices"]:
                paid[link["invoice_id"]] = paid.get(link["invoice_id"], 0) + link["applied_amount"]
    for inv in invoices.values():
        if inv["status"] == "paid":
            assert paid[inv["id"]] == inv["total"] == inv["amount_paid"]
    for note in objects["credit_note"]:
        assert note["reference_invoice_id"] in invoices
        refund = txns[note["linked_refunds"][0]["txn_id"]]
        assert refund["type"] == "refund" and refund["amount"] == note["total"]


def test_other_tables_are_copied_unchanged(native, converted):
    out, _ = converted
    tables = {p.name for p in out.iterdir() if p.is_dir()}
    assert tables == COPIED | {"chargebee"}
    for table in COPIED:
        files = sorted(p.relative_to(native) for p in (native / table).rglob("*") if p.is_file())
        copied = sorted(p.relative_to(out) for p in (out / table).rglob("*") if p.is_file())
        assert files == copied
        _, mismatch, errors = filecmp.cmpfiles(native, out, [str(f) for f in files], shallow=False)
        assert not mismatch and not errors


def test_dirty_adds_only_quarantine_lines_and_output_is_deterministic(native, converted, tmp_path):
    clean, _ = converted
    counts = write_chargebee(native, tmp_path, dirty=True)
    for name in _declared():
        a = clean / "chargebee" / name / f"{name}.jsonl"
        assert filecmp.cmp(a, tmp_path / "chargebee" / name / a.name, shallow=False), name
    dirt = (tmp_path / "chargebee/event/event-dirt.jsonl").read_text().splitlines()
    with pytest.raises(json.JSONDecodeError):
        json.loads(dirt[0])
    parsed = [json.loads(line) for line in dirt[1:]]
    assert sum("occurred_at" not in e for e in parsed) == 1
    history = _read_lines(clean / "chargebee/event/event.jsonl")
    late = [e for e in parsed if "occurred_at" in e]
    assert len(late) == 1
    s = late[0]["content"]["subscription"]
    assert any(
        h["content"]["subscription"]["id"] == s["id"]
        and h["occurred_at"] < late[0]["occurred_at"]
        and h["content"]["subscription"]["resource_version"] > s["resource_version"]
        for h in history
    )
    prices = _read_lines(tmp_path / "chargebee/item_price/item_price-dirt.jsonl")
    assert [p["currency_code"] for p in prices] == ["ZZZ"]
    assert counts["event"] == len(history) + len(dirt)

    write_chargebee(native, tmp_path)  # a clean run over a dirty one leaves no dirt behind
    assert not (tmp_path / "chargebee/event/event-dirt.jsonl").exists()
