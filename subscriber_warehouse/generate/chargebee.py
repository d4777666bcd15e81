"""A native landing rewritten as Chargebee (API v2, Product Catalog 2.0) returns its objects.

`write_chargebee(native, out)` reads a Parquet landing the generator wrote and writes
`<out>/chargebee/<object>/<object>.jsonl`, one bare API object per line, for every object of
dbt_project/models/staging/chargebee/_chargebee__sources.yml; the native tables Chargebee does
not replace are copied into `<out>` as they are. Instants are UNIX seconds, amounts integers in
the currency's minor unit, resource_version milliseconds; optional keys are left out, never null.

The history is the event log: one event per native subscription event, a subscription_renewed
event at every billing period start without one, and a subscription_cancellation_scheduled event
(status non_renewing) before each voluntary cancel at a period end. Each event's content holds
the whole subscription right after it, so the state at any instant is the last event's content;
subscription.jsonl is each subscription after its last event. Reactivations keep the subscription
id. Events are written grouped by subscription (in time order within one), not globally sorted:
a full history does not fit in memory as JSON text at 100,000 customers.

Discounts become coupons: a run of consecutive states with the same percentage is one coupon
application. A run that ends with a discount change is a limited_period coupon (its length in
months from its first invoice to the change; apply_till = the change's instant); a run that only
ends with the subscription (cancel, horizon) is a forever coupon.

Dirt (`dirty=True`), in extra files next to the clean ones, each line one the warehouse must
quarantine:
- event/event-dirt.jsonl, line 1: not JSON (a truncated object, id ev_dirt_truncated);
- line 2: ev_dirt_no_occurred_at, a real subscription event's copy without occurred_at;
- line 3: ev_dirt_out_of_order, an event of a real subscription that occurred after all of its
  events but whose resource_version is lower than every one of theirs;
- item_price/item_price-dirt.jsonl: <plan_id>-zzz, an item price in currency ZZZ.
"""

from __future__ import annotations

import json
import shutil
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from ..contract import TABLES, currency_minor_units
from .native_history import BILLING_TABLES, NativeHistory, read_native
from .timeutil import DAY, HOUR

OBJECTS = (
    "customer",
    "item",
    "item_price",
    "coupon",
    "subscription",
    "invoice",
    "transaction",
    "credit_note",
    "event",
)
AVG_MONTH = 365.2425 / 12 * DAY
SCHEDULE_LEAD = 7 * DAY  # an end-of-term cancel is scheduled up to a week before the term ends
STATUS = {"trialing": "in_trial", "active": "active", "paused": "paused", "canceled": "cancelled"}
EVENT_TYPE = {
    "created": "subscription_created",
    "trial_started": "subscription_created",
    "activated": "subscription_activated",
    "plan_changed": "subscription_changed",
    "quantity_changed": "subscription_changed",
    "discount_changed": "subscription_changed",
    "paused": "subscription_paused",
    "resumed": "subscription_resumed",
    "canceled": "subscription_cancelled",
    "reactivated": "subscription_reactivated",
}
INVOICE_STATUS = {
    "paid": "paid",
    "open": "payment_due",
    "uncollectible": "not_paid",
    "void": "voided",
    "draft": "pending",
}
# Chargebee's credit note reason codes are a fixed list; the native reason is kept as
# create_reason_code
CREDIT_REASON = {"requested_by_customer": "product_unsatisfactory", "fraudulent": "fraudulent"}
ERROR_TEXT = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}


def _dumps(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _put(obj: dict, key: str, value) -> None:
    """Chargebee leaves a key out rather than sending null."""
    if value is not None:
        obj[key] = value


# -- native columns as plain Python lists (fast to loop over, JSON-serialisable) ---------------
def _seconds(col: pd.Series) -> list[int | None]:
    naive = col.dt.tz_convert("UTC").dt.tz_localize(None) if col.dt.tz is not None else col
    secs = naive.to_numpy(dtype="datetime64[s]").astype(np.int64).tolist()
    missing = col.isna().to_numpy()
    return [None if m else s for s, m in zip(secs, missing, strict=True)] if missing.any() else secs


def _days(col: pd.Series) -> list[int | None]:
    return [None if s is None else s // DAY for s in _seconds(col)]


def _minor(amount: pd.Series, currency: pd.Series) -> list[int]:
    """Major-unit amounts (floats from decimals) as integer minor units of each row's currency."""
    units = currency_minor_units()
    scale = 10.0 ** currency.str.upper().map(units).to_numpy(dtype=float)
    return np.rint(amount.to_numpy(dtype=float) * scale).astype(np.int64).tolist()


def _texts(col: pd.Series) -> list[str | None]:
    return col.astype(object).where(col.notna(), None).tolist()


def _upper(col: pd.Series) -> list[str | None]:
    return [None if c is None else c.upper() for c in _texts(col)]


# -- writing -----------------------------------------------------------------------------------
class _Writer:
    """One open file per object (and per dirt file); counts the lines written per object."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, TextIO] = {}
        self.counts = dict.fromkeys(OBJECTS, 0)
        for name in OBJECTS:  # every object's file exists, even when it has no lines
            self._file(name, "")

    def _file(self, name: str, suffix: str) -> TextIO:
        key = name + suffix
        if key not in self.files:
            path = self.folder / name / f"{name}{suffix}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.files[key] = open(path, "w", encoding="utf-8")  # noqa: SIM115 closed in close()
        return self.files[key]

    def write(self, name: str, obj: dict) -> None:
        self.files[name].write(_dumps(obj) + "\n")
        self.counts[name] += 1

    def write_event(self, event: dict, customer_json: str | None) -> None:
        """An event line with its customer encoded once per customer, not once per event (the
        customer is a third of the event log): byte for byte what _dumps writes for the whole
        event, whose last key is content."""
        head = _dumps({k: v for k, v in event.items() if k != "content"})
        body = '{"subscription":' + _dumps(event["content"]["subscription"])
        if customer_json is not None:
            body += ',"customer":' + customer_json
        self.files["event"].write(f'{head[:-1]},"content":{body}}}}}\n')
        self.counts["event"] += 1

    def write_text(self, name: str, text: str, suffix: str) -> None:
        self._file(name, suffix).write(text + "\n")
        self.counts[name] += 1

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _clear(folder: Path) -> None:
    """Remove the files of an earlier conversion (only the names this module writes), so a clean
    run after a dirty one leaves no dirt behind."""
    for name in OBJECTS:
        for suffix in ("", "-dirt"):
            (folder / name / f"{name}{suffix}.jsonl").unlink(missing_ok=True)


def _copy_native_tables(native: Path, out: Path) -> None:
    """The tables Chargebee does not replace, copied as they are (day folders included)."""
    if native.resolve() == out.resolve():
        return
    for table in TABLES:
        src = native / table
        if table in BILLING_TABLES or not src.is_dir():
            continue
        dst = out / table
        for stale in [*dst.glob(f"{table}-*.*"), *dst.glob(f"*/{table}-*.*")]:
            stale.unlink()  # files of an earlier landing the copy would not overwrite
        shutil.copytree(src, dst, dirs_exist_ok=True)


# -- customers and the catalog -----------------------------------------------------------------
def _customers(hist: NativeHistory) -> dict[str, dict]:
    c = hist.customers
    created, updated = _seconds(c["created_at"]), _seconds(c["updated_at"])
    out = {}
    for i, (cid, email, phone, name, country, channel, campaign, currency) in enumerate(
        zip(
            c["customer_id"],
            _texts(c["email"]),
            _texts(c["phone"]),
            _texts(c["full_name"]),
            _texts(c["country"]),
            _texts(c["acquisition_channel"]),
            _texts(c["acquisition_campaign_id"]),
            _upper(c["currency"]),
            strict=True,
        )
    ):
        obj: dict = {"id": cid}
        _put(obj, "email", email)
        _put(obj, "phone", phone)
        if name:
            first, _, last = name.partition(" ")
            obj["first_name"] = first
            _put(obj, "last_name", last or None)
        obj["auto_collection"] = "on"
        obj["net_term_days"] = 0
        obj["allow_direct_debit"] = False
        obj["taxability"] = "taxable"
        obj["created_at"] = created[i]
        obj["updated_at"] = updated[i]
        _put(obj, "preferred_currency_code", currency)
        if country:
            obj["billing_address"] = {"country": country, "object": "billing_address"}
        meta = {}
        _put(meta, "acquisition_channel", channel)
        _put(meta, "acquisition_campaign_id", campaign)
        if meta:
            obj["meta_data"] = meta
        obj["resource_version"] = updated[i] * 1000
        obj["deleted"] = False
        obj["object"] = "customer"
        out[cid] = obj
    return out


def _items(hist: NativeHistory) -> list[dict]:
    p = hist.plans.assign(updated=_seconds(hist.plans["updated_at"]))
    out = []
    for (product, tier), rows in p.groupby(["product", "tier"], sort=True):
        updated = int(rows["updated"].max())
        out.append(
            {
                "id": f"{product}-{tier}",
                "name": f"{product.title()} {tier.title()}",
                "type": "plan",
                "item_family_id": product,
                "status": "active",
                "item_applicability": "all",
                "metered": False,
                "metadata": {"tier": tier},
                "updated_at": updated,
                "resource_version": updated * 1000,
                "object": "item",
            }
        )
    return out


def _item_prices(hist: NativeHistory) -> list[dict]:
    versions = hist.plans.assign(t=_seconds(hist.plans["updated_at"]))
    first = versions.groupby("plan_id")["t"].min().to_dict()  # the first version's updated_at
    lp = hist.latest_plans
    out = []
    for pid, product, tier, name, interval, count, price, cur, trial, updated in zip(
        lp["plan_id"],
        lp["product"],
        lp["tier"],
        lp["plan_name"],
        lp["billing_interval"],
        lp["interval_count"].tolist(),
        _minor(lp["unit_amount"], lp["currency"]),
        _upper(lp["currency"]),
        lp["trial_days"].tolist(),
        _seconds(lp["updated_at"]),
        strict=True,
    ):
        obj = {
            "id": pid,
            "item_id": f"{product}-{tier}",
            "item_family_id": product,
            "name": name,
            "external_name": name,
            "item_type": "plan",
            "pricing_model": "per_unit",
            "price": price,
            "currency_code": cur,
            "period": count,
            "period_unit": interval,
            "free_quantity": 0,
        }
        if trial:
            obj["trial_period"] = trial
            obj["trial_period_unit"] = "day"
        obj.update(
            {
                "status": "active",
                "created_at": int(first[pid]),
                "updated_at": updated,
                "resource_version": updated * 1000,
                "object": "item_price",
            }
        )
        out.append(obj)
    return out


@dataclass(frozen=True)
class _Coupon:
    """One application of a percentage discount to a subscription (a run of states)."""

    id: str
    pct: float
    months: int | None  # None = forever
    apply_till: int | None
    start: int  # the instant the run began


def _coupon_objects(used: dict[str, _Coupon]) -> list[dict]:
    out = []
    for cid in sorted(used):
        c = used[cid]
        obj = {
            "id": cid,
            "name": f"{c.pct:g}% off " + ("forever" if c.months is None else f"{c.months} months"),
            "discount_type": "percentage",
            "discount_percentage": float(c.pct),
            "duration_type": "forever" if c.months is None else "limited_period",
        }
        if c.months is not None:
            obj["period"] = c.months
            obj["period_unit"] = "month"
        obj.update(
            {
                "apply_on": "invoice_amount",
                "status": "active",
                "created_at": c.start,
                "updated_at": c.start,
                "resource_version": c.start * 1000,
                "deleted": False,
                "object": "coupon",
            }
        )
        out.append(obj)
    return out


# -- billing periods ---------------------------------------------------------------------------
@dataclass
class _Invoices:
    """The native invoices as lists, and each subscription's billing periods."""

    ids: list[str]
    customer: list[str]
    subscription: list[str | None]
    issued: list[int]
    updated: list[int]
    status: list[str]
    currency: list[str]
    subtotal: list[int]
    discount: list[int]
    tax: list[int]
    total: list[int]
    period_of: dict[str, tuple[int, int]]  # invoice id -> its period's (start, end) instants
    periods: dict[str, list[tuple[int, int, str]]]  # subscription -> (start, end, invoice id)


def _invoices(hist: NativeHistory) -> _Invoices:
    inv = hist.invoices
    cur = inv["currency"]
    lists = _Invoices(
        ids=inv["invoice_id"].tolist(),
        customer=inv["customer_id"].tolist(),
        subscription=_texts(inv["subscription_id"]),
        issued=_seconds(inv["issued_at"]),
        updated=_seconds(inv["updated_at"]),
        status=inv["status"].tolist(),
        currency=_upper(cur),
        subtotal=_minor(inv["subtotal"], cur),
        discount=_minor(inv["discount_amount"], cur),
        tax=_minor(inv["tax_amount"], cur),
        total=_minor(inv["total"], cur),
        period_of={},
        periods={},
    )
    # A period's invoice is issued at the instant the period starts; a voided invoice's reissue
    # comes a little later, so the period's start is its earliest invoice. Its end keeps the
    # start's time of day (billing anchors keep it) on the day after the last day of the period.
    start_days = _days(inv["period_start"])
    first: dict[tuple[str, int], tuple[int, str, int]] = {}
    for inv_id, sub, t, day, last in zip(
        lists.ids,
        lists.subscription,
        lists.issued,
        start_days,
        _days(inv["period_end"]),
        strict=True,
    ):
        if sub is None or day is None:
            continue
        key = (sub, day)
        if key not in first or t < first[key][0]:
            first[key] = (t, inv_id, last)
    bounds = {}
    for (sub, day), (t, inv_id, last) in first.items():
        end = (last + 1) * DAY + t % DAY
        bounds[(sub, day)] = (t, end)
        lists.periods.setdefault(sub, []).append((t, end, inv_id))
    for periods in lists.periods.values():
        periods.sort()
    for inv_id, sub, day in zip(lists.ids, lists.subscription, start_days, strict=True):
        if sub is not None and day is not None:
            lists.period_of[inv_id] = bounds[(sub, day)]
    return lists


# -- subscription histories --------------------------------------------------------------------
@dataclass
class _Events:
    """The resolved native subscription events as lists, ordered by subscription and instant."""

    event_id: list[str]
    sub: list[str]
    customer: list[str]
    etype: list[str]
    status: list[str]
    t: list[int]
    plan_id: list[str]
    qty: list[int]
    reason: list[str | None]
    unit: list[int]
    pct: list[float]
    currency: list[str]
    plan_name: list[str]
    interval: list[str]
    count: list[int]
    trial_days: list[int]


def _events(hist: NativeHistory) -> _Events:
    e = hist.events
    return _Events(
        event_id=e["event_id"].tolist(),
        sub=e["subscription_id"].tolist(),
        customer=e["customer_id"].tolist(),
        etype=e["event_type"].tolist(),
        status=e["status"].tolist(),
        t=_seconds(e["occurred_at"]),
        plan_id=e["plan_id"].tolist(),
        qty=e["quantity"].tolist(),
        reason=_texts(e["cancel_reason"]),
        unit=_minor(e["unit_amount"], e["currency"]),
        pct=e["discount_pct"].astype(float).tolist(),
        currency=_upper(e["currency"]),
        plan_name=e["plan_name"].tolist(),
        interval=e["billing_interval"].tolist(),
        count=e["interval_count"].tolist(),
        trial_days=e["trial_days"].tolist(),
    )


def _coupon_runs(ev: _Events, lo: int, hi: int, starts: list[int]) -> list[_Coupon | None]:
    """The coupon applied in each state of one subscription (None = no discount)."""
    out: list[_Coupon | None] = [None] * (hi - lo)
    j = lo
    while j < hi:
        pct = ev.pct[j]
        if not pct:
            j += 1
            continue
        stop = j + 1
        while stop < hi and ev.pct[stop] == pct:
            stop += 1
        if stop < hi and ev.etype[stop] == "discount_changed":
            # limited: it lasted from its first invoice until the change that removed it
            till = ev.t[stop]
            k = bisect_left(starts, ev.t[j])
            applied = starts[k] if k < len(starts) and starts[k] < till else ev.t[j]
            months = max(1, round((till - applied) / AVG_MONTH))
            coupon = _Coupon(f"pct{pct:g}_{months}m", pct, months, till, ev.t[j])
        else:
            coupon = _Coupon(f"pct{pct:g}_forever", pct, None, None, ev.t[j])
        out[j - lo : stop - lo] = [coupon] * (stop - j)
        j = stop
    return out


class _State:
    """A subscription's attributes between two events (None = left out)."""

    def __init__(self, first: int) -> None:
        self.status = "active"
        self.created_at = self.started_at = first
        self.activated_at = self.trial_start = self.trial_end = None
        self.cancelled_at = self.cancel_reason = self.cancel_reason_code = None
        self.cancel_schedule_created_at = self.pause_date = self.resume_date = None
        self.j = -1  # the native event whose plan, seats, price and discount are in force


NATIVE, RENEWAL, SCHEDULED = 1, 2, 0  # also the order of entries at one instant: scheduled first


@dataclass
class _SubscriptionHistory:
    """One subscription's Chargebee events, its final state, and what its invoices need."""

    events: list[dict]
    final: dict
    # per timeline entry: (instant, native event index, coupon) to price the period invoices
    states: list[tuple[int, int, _Coupon | None]]


def _schedules(ev: _Events, lo: int, hi: int, periods) -> dict[int, int]:
    """Voluntary cancels at the end of a billing term of an active subscription: Chargebee
    schedules them (non_renewing) before the term ends. Native event index -> schedule instant."""
    starts = [p[0] for p in periods]
    out = {}
    for j in range(lo + 1, hi):
        if ev.etype[j] != "canceled" or ev.reason[j] == "payment_failed":
            continue
        if ev.status[j - 1] != "active":
            continue
        k = bisect_right(starts, ev.t[j]) - 1
        if k >= 0 and periods[k][1] == ev.t[j]:
            out[j] = max(periods[k][0] + HOUR, ev.t[j] - SCHEDULE_LEAD)
    return out


def _apply_native(st: _State, ev: _Events, j: int, hi: int, cancel_at: int | None) -> None:
    t, etype = ev.t[j], ev.etype[j]
    st.j = j
    st.status = STATUS[ev.status[j]]
    if etype == "trial_started":
        st.trial_start = t
        st.trial_end = ev.t[j + 1] if j + 1 < hi else t + ev.trial_days[j] * DAY
    if etype in ("created", "activated", "reactivated"):
        st.activated_at = t
    if etype == "reactivated":  # the same subscription, live again: the cancel is history
        st.cancelled_at = st.cancel_reason = st.cancel_reason_code = None
        st.cancel_schedule_created_at = st.pause_date = st.resume_date = None
    elif etype == "paused":
        st.pause_date = t
        resumes = j + 1 < hi and ev.etype[j + 1] == "resumed"
        st.resume_date = ev.t[j + 1] if resumes else None
    elif etype == "resumed":
        st.pause_date, st.resume_date = None, t
    elif etype == "canceled":
        st.cancelled_at = t
        if ev.reason[j] == "payment_failed":
            st.cancel_reason = "not_paid"  # Chargebee sets cancel_reason for involuntary only
        else:
            st.cancel_reason_code = ev.reason[j]
    if st.status == "active" and cancel_at is not None:
        st.status = "non_renewing"  # a cancel is scheduled: still paying until it happens


def _snapshot(ev, st: _State, t: int, rv: int, term, coupon, applied: int) -> dict:
    j = st.j
    unit, qty = ev.unit[j], ev.qty[j]
    obj = {
        "id": ev.sub[j],
        "customer_id": ev.customer[j],
        "status": st.status,
        "currency_code": ev.currency[j],
        "billing_period": ev.count[j],
        "billing_period_unit": ev.interval[j],
        "subscription_items": [
            {
                "item_price_id": ev.plan_id[j],
                "item_type": "plan",
                "quantity": qty,
                "unit_price": unit,
                "amount": unit * qty,
                "free_quantity": 0,
                "object": "subscription_item",
            }
        ],
    }
    if coupon is not None:
        c = {"coupon_id": coupon.id}
        _put(c, "apply_till", coupon.apply_till)
        c["applied_count"] = applied
        c["object"] = "coupon"
        obj["coupons"] = [c]
    if term is not None:
        obj["current_term_start"], obj["current_term_end"] = term
        if st.status in ("active", "in_trial"):
            obj["next_billing_at"] = term[1]
    for key in (
        "started_at",
        "activated_at",
        "trial_start",
        "trial_end",
        "cancelled_at",
        "cancel_reason",
        "cancel_reason_code",
        "cancel_schedule_created_at",
        "pause_date",
        "resume_date",
        "created_at",
    ):
        _put(obj, key, getattr(st, key))
    obj["updated_at"] = t
    obj["has_scheduled_changes"] = False
    obj["resource_version"] = rv
    obj["deleted"] = False
    obj["object"] = "subscription"
    return obj


def _term(st: _State, t: int, periods, starts) -> tuple[int, int] | None:
    """The term in force at `t`: the trial while trialing, else the billing period that started
    last (a cancelled or paused subscription keeps its last one)."""
    if st.status == "in_trial":
        return st.trial_start, st.trial_end
    k = bisect_right(starts, t) - 1
    if k >= 0:
        return periods[k][0], periods[k][1]
    if st.trial_start is not None:
        return st.trial_start, st.trial_end
    return None


def _history(ev: _Events, lo: int, hi: int, periods, customer: dict | None):
    starts = [p[0] for p in periods]
    coupons = _coupon_runs(ev, lo, hi, starts)
    schedules = _schedules(ev, lo, hi, periods)
    native_instants = set(ev.t[lo:hi])
    timeline = [(ev.t[j], NATIVE, j) for j in range(lo, hi)]
    timeline += [(p[0], RENEWAL, k) for k, p in enumerate(periods) if p[0] not in native_instants]
    timeline += [(t, SCHEDULED, j) for j, t in schedules.items()]
    timeline.sort()
    # the scheduled cancel that makes states non_renewing: (schedule instant, cancel event)
    windows = sorted((t, j) for j, t in schedules.items())

    st = _State(ev.t[lo])
    events, states = [], []
    prev_t, rank = None, 0
    for t, kind, ref in timeline:
        rank = rank + 1 if t == prev_t else 0
        prev_t = t
        if kind == NATIVE:
            cancel_at = next((ev.t[c] for s, c in windows if s <= t < ev.t[c]), None)
            _apply_native(st, ev, ref, hi, cancel_at)
            ev_id, ev_type = f"ev_{ev.event_id[ref]}", EVENT_TYPE[ev.etype[ref]]
        elif kind == RENEWAL:
            ev_id, ev_type = f"ev_{periods[ref][2]}", "subscription_renewed"
        else:
            st.status = "non_renewing"
            st.cancelled_at = ev.t[ref]
            st.cancel_reason_code = ev.reason[ref]
            st.cancel_schedule_created_at = t
            ev_id = f"ev_{ev.event_id[ref]}_scheduled"
            ev_type = "subscription_cancellation_scheduled"
        coupon = coupons[st.j - lo]
        applied = 0
        if coupon is not None:
            applied = bisect_right(starts, t) - bisect_left(starts, coupon.start)
        term = _term(st, t, periods, starts)
        sub = _snapshot(ev, st, t, t * 1000 + rank, term, coupon, applied)
        content = {"subscription": sub}
        if customer is not None:
            content["customer"] = customer
        events.append(
            {
                "id": ev_id,
                "occurred_at": t,
                "source": "system",
                "object": "event",
                "api_version": "v2",
                "event_type": ev_type,
                "webhook_status": "not_configured",
                "content": content,
            }
        )
        states.append((t, st.j, coupon))
    return _SubscriptionHistory(events, events[-1]["content"]["subscription"], states)


# -- invoices, transactions, credit notes ------------------------------------------------------
def _line_sources(inv: _Invoices, hist: _SubscriptionHistory, sub: str, out: dict) -> None:
    """For each billing period of `sub`: the native event and coupon in force at its start
    (the state its invoice was issued in)."""
    instants = [s[0] for s in hist.states]
    for start, _, _ in inv.periods.get(sub, ()):
        k = bisect_right(instants, start) - 1
        if k >= 0:
            out[(sub, start)] = hist.states[k][1:]


def _invoice_obj(inv: _Invoices, i: int, ev: _Events, sources: dict, paid: dict) -> dict:
    inv_id, sub, status = inv.ids[i], inv.subscription[i], inv.status[i]
    first_paid, amount_paid = paid.get(inv_id, (None, 0))
    amount_paid = min(amount_paid, inv.total[i])
    obj = {"id": inv_id, "customer_id": inv.customer[i]}
    _put(obj, "subscription_id", sub)
    obj.update(
        {
            "recurring": sub is not None,
            "status": INVOICE_STATUS[status],
            "price_type": "tax_exclusive",
            "date": inv.issued[i],
            "due_date": inv.issued[i],
            "net_term_days": 0,
        }
    )
    _put(obj, "paid_at", first_paid if status == "paid" else None)
    _put(obj, "voided_at", inv.updated[i] if status == "void" else None)
    obj.update(
        {
            "currency_code": inv.currency[i],
            "sub_total": inv.subtotal[i],
            "tax": inv.tax[i],
            "total": inv.total[i],
            "amount_paid": amount_paid,
            "amount_due": 0 if status == "void" else inv.total[i] - amount_paid,
        }
    )
    line, coupon = _line_item(inv, i, ev, sources)
    obj["line_items"] = [line]
    if inv.discount[i] > 0:
        discount = {"amount": inv.discount[i], "entity_type": "document_level_coupon"}
        _put(discount, "entity_id", coupon.id if coupon is not None else None)
        discount["discount_type"] = "percentage"
        discount["object"] = "discount"
        obj["discounts"] = [discount]
    obj.update(
        {
            "updated_at": inv.updated[i],
            "resource_version": inv.updated[i] * 1000,
            "deleted": False,
            "object": "invoice",
        }
    )
    return obj


def _line_item(inv: _Invoices, i: int, ev: _Events, sources: dict) -> tuple[dict, _Coupon | None]:
    inv_id, sub, sub_total = inv.ids[i], inv.subscription[i], inv.subtotal[i]
    line: dict = {"id": f"li_{inv_id}"}
    _put(line, "subscription_id", sub)
    line["customer_id"] = inv.customer[i]
    period = inv.period_of.get(inv_id)
    source = sources.get((sub, period[0])) if period else None
    coupon = None
    if source is not None:
        j, coupon = source
        unit, qty = ev.unit[j], ev.qty[j]
        if unit * qty != sub_total:  # not the state's price: bill what the invoice says
            unit, qty = sub_total, 1
        line.update(
            {
                "date_from": period[0],
                "date_to": period[1],
                "unit_amount": unit,
                "quantity": qty,
                "amount": sub_total,
                "pricing_model": "per_unit",
                "entity_type": "plan_item_price",
                "entity_id": ev.plan_id[j],
                "description": ev.plan_name[j],
            }
        )
    else:  # a one-off charge (add-on, top-up, overage): no subscription, no service period
        t = inv.issued[i] if period is None else period[0]
        line.update(
            {
                "date_from": t,
                "date_to": t if period is None else period[1],
                "unit_amount": sub_total,
                "quantity": 1,
                "amount": sub_total,
                "pricing_model": "flat_fee",
                "entity_type": "charge_item_price",
                "entity_id": f"one-off-{inv.currency[i]}",
                "description": "One-off charge",
            }
        )
    line.update(
        {
            "is_taxed": inv.tax[i] > 0,
            "tax_amount": inv.tax[i],
            "discount_amount": inv.discount[i],
            "object": "line_item",
        }
    )
    return line, coupon


@dataclass
class _Payments:
    ids: list[str]
    invoice: list[str | None]
    customer: list[str]
    t: list[int]
    amount: list[int]
    currency: list[str]
    ok: list[bool]
    reason: list[str | None]


def _payments(hist: NativeHistory) -> _Payments:
    p = hist.payments
    return _Payments(
        ids=p["payment_id"].tolist(),
        invoice=_texts(p["invoice_id"]),
        customer=p["customer_id"].tolist(),
        t=_seconds(p["attempted_at"]),
        amount=_minor(p["amount"], p["currency"]),
        currency=_upper(p["currency"]),
        ok=(p["status"] == "succeeded").tolist(),
        reason=_texts(p["failure_reason"]),
    )


def _paid(pay: _Payments) -> dict[str, tuple[int, int]]:
    """Invoice id -> (first succeeded payment's instant, amount paid)."""
    out: dict[str, tuple[int, int]] = {}
    for inv_id, t, amount, ok in zip(pay.invoice, pay.t, pay.amount, pay.ok, strict=True):
        if ok and inv_id is not None:
            first, total = out.get(inv_id, (t, 0))
            out[inv_id] = (min(first, t), total + amount)
    return out


def _payment_txn(pay: _Payments, i: int, invoices: dict[str, int], inv: _Invoices) -> dict:
    obj = {"id": pay.ids[i], "customer_id": pay.customer[i]}
    k = invoices.get(pay.invoice[i])
    if k is not None:
        _put(obj, "subscription_id", inv.subscription[k])
    obj.update(
        {
            "type": "payment",
            "status": "success" if pay.ok[i] else "failure",
            "amount": pay.amount[i],
            "currency_code": pay.currency[i],
            "date": pay.t[i],
        }
    )
    if k is not None:
        obj["linked_invoices"] = [
            {
                "invoice_id": inv.ids[k],
                "applied_amount": pay.amount[i] if pay.ok[i] else 0,
                "applied_at": pay.t[i],
                "invoice_date": inv.issued[k],
                "invoice_total": inv.total[k],
                "invoice_status": INVOICE_STATUS[inv.status[k]],
            }
        ]
    if not pay.ok[i]:
        code = pay.reason[i] or "payment_failed"
        obj["error_code"] = code
        obj["error_text"] = ERROR_TEXT.get(code, "The payment failed.")
    obj.update(
        {
            "payment_method": "card",
            "gateway": "stripe",
            "updated_at": pay.t[i],
            "resource_version": pay.t[i] * 1000,
            "deleted": False,
            "object": "transaction",
        }
    )
    return obj


def _refund_objects(hist: NativeHistory, pay: _Payments, invoices: dict, inv: _Invoices):
    """Each refund as a refund transaction and the refundable credit note it settles."""
    r = hist.refunds
    payment_index = {pid: i for i, pid in enumerate(pay.ids)}
    for rid, pid, cust, t, amount, cur, reason in zip(
        r["refund_id"],
        r["payment_id"],
        r["customer_id"],
        _seconds(r["refunded_at"]),
        _minor(r["amount"], r["currency"]),
        _upper(r["currency"]),
        _texts(r["reason"]),
        strict=True,
    ):
        i = payment_index.get(pid)
        k = invoices.get(pay.invoice[i]) if i is not None else None
        sub = inv.subscription[k] if k is not None else None
        txn = {"id": rid, "customer_id": cust}
        _put(txn, "subscription_id", sub)
        txn.update(
            {
                "type": "refund",
                "status": "success",
                "amount": amount,
                "currency_code": cur,
                "date": t,
                "refunded_txn_id": pid,
                "linked_credit_notes": [{"cn_id": f"cn_{rid}", "applied_amount": amount}],
                "payment_method": "card",
                "gateway": "stripe",
                "updated_at": t,
                "resource_version": t * 1000,
                "deleted": False,
                "object": "transaction",
            }
        )
        note = {"id": f"cn_{rid}", "customer_id": cust}
        _put(note, "subscription_id", sub)
        _put(note, "reference_invoice_id", inv.ids[k] if k is not None else None)
        note.update(
            {
                "type": "refundable",
                "status": "refunded",
                "reason_code": CREDIT_REASON.get(reason, "other"),
            }
        )
        _put(note, "create_reason_code", reason)
        note.update(
            {
                "date": t,
                "price_type": "tax_exclusive",
                "currency_code": cur,
                "sub_total": amount,
                "total": amount,
                "amount_allocated": 0,
                "amount_refunded": amount,
                "amount_available": 0,
                "refunded_at": t,
                "linked_refunds": [
                    {
                        "txn_id": rid,
                        "applied_amount": amount,
                        "applied_at": t,
                        "txn_status": "success",
                        "txn_date": t,
                        "txn_amount": amount,
                    }
                ],
                "updated_at": t,
                "resource_version": t * 1000,
                "deleted": False,
                "object": "credit_note",
            }
        )
        yield txn, note


# -- dirt --------------------------------------------------------------------------------------
def _write_dirt(w: _Writer, sample: _SubscriptionHistory | None, prices: list[dict]) -> None:
    w.write_text("event", '{"id":"ev_dirt_truncated","occurred_at":17', "-dirt")
    if sample is not None:
        first, last = sample.events[0], sample.events[-1]
        no_time = {k: v for k, v in first.items() if k != "occurred_at"}
        w.write_text("event", _dumps({**no_time, "id": "ev_dirt_no_occurred_at"}), "-dirt")
        t = last["occurred_at"] + 60
        rv = first["content"]["subscription"]["resource_version"] - 1
        late = dict(last["content"]["subscription"], updated_at=t, resource_version=rv)
        stale = {
            **last,
            "id": "ev_dirt_out_of_order",
            "occurred_at": t,
            "event_type": "subscription_changed",
            "content": {**last["content"], "subscription": late},
        }
        w.write_text("event", _dumps(stale), "-dirt")
    if prices:
        bad = dict(prices[0], id=f"{prices[0]['id']}-zzz", currency_code="ZZZ")
        w.write_text("item_price", _dumps(bad), "-dirt")


# -- the conversion ----------------------------------------------------------------------------
def write_chargebee(native: Path, out: Path, dirty: bool = False) -> dict[str, int]:
    """Write the native Parquet landing in `native` as Chargebee's objects under
    `out/chargebee/`, copy the other native tables into `out`, and return the lines written per
    object (dirt lines included)."""
    native, out = Path(native), Path(out)
    hist = read_native(native)
    folder = out / "chargebee"
    _clear(folder)
    w = _Writer(folder)
    try:
        sample = _write_all(w, hist, dirty)
        if dirty:
            _write_dirt(w, sample, _item_prices(hist))
    finally:
        w.close()
    _copy_native_tables(native, out)
    return dict(w.counts)


def _write_all(w: _Writer, hist: NativeHistory, dirty: bool) -> _SubscriptionHistory | None:
    customers = _customers(hist)
    encoded = {cid: _dumps(obj) for cid, obj in customers.items()}
    for cid in sorted(customers):
        w.write_text("customer", encoded[cid], "")
    for obj in _items(hist):
        w.write("item", obj)
    for obj in _item_prices(hist):
        w.write("item_price", obj)

    ev, inv = _events(hist), _invoices(hist)
    sources: dict = {}
    used: dict[str, _Coupon] = {}
    sample = None
    bounds = np.flatnonzero(np.r_[True, np.array(ev.sub[1:]) != np.array(ev.sub[:-1])])
    for lo, hi in zip(bounds.tolist(), [*bounds[1:].tolist(), len(ev.sub)], strict=True):
        if lo == hi:
            continue
        sub = ev.sub[lo]
        customer = customers.get(ev.customer[lo])
        h = _history(ev, lo, hi, inv.periods.get(sub, []), customer)
        customer_json = encoded.get(ev.customer[lo]) if customer is not None else None
        for obj in h.events:
            w.write_event(obj, customer_json)
        w.write("subscription", h.final)
        _line_sources(inv, h, sub, sources)
        for _, _, coupon in h.states:
            if coupon is not None and (
                coupon.id not in used or coupon.start < used[coupon.id].start
            ):
                used[coupon.id] = coupon
        if sample is None and len(h.events) > 1:
            sample = h
    for obj in _coupon_objects(used):
        w.write("coupon", obj)

    pay = _payments(hist)
    paid = _paid(pay)
    for i in range(len(inv.ids)):
        w.write("invoice", _invoice_obj(inv, i, ev, sources, paid))
    invoice_index = {inv_id: k for k, inv_id in enumerate(inv.ids)}
    for i in range(len(pay.ids)):
        w.write("transaction", _payment_txn(pay, i, invoice_index, inv))
    for txn, note in _refund_objects(hist, pay, invoice_index, inv):
        w.write("transaction", txn)
        w.write("credit_note", note)
    return sample if dirty else None
