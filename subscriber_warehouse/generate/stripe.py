"""A native landing rewritten as Fivetran's Stripe connector lands it (generate --format stripe).

`write_stripe(native, out)` reads the business from a native Parquet landing (native_history)
and writes `out/stripe/<table>/<table>.parquet` for every table of
dbt_project/models/staging/stripe/_stripe__sources.yml (the contract: declared columns, in order,
typed as their data_type says), then copies the native tables Stripe does not replace. The shape
is chosen so that the warehouse's Stripe mapping turns it back into the same month-end MRR:

- each native subscription spell is one Stripe subscription (a reactivation is a new one,
  `<subscription_id>_r<k>`); `subscription_history` has one version per change of status, billing
  period, pause, cancel request or dunning, `subscription` the latest version;
- every native invoice keeps its id; a subscription invoice has one line with the price,
  quantity and unit in force at its period start; a plan or seat change inside a period gets its
  own invoice `in_<spell>_p<n>` with two proration lines (unused time on the old state, a
  negative amount; remaining time on the new one, positive);
- discounts (which the business changes only at a period start) are runs of periods with the
  same percentage: one `discount` (and `subscription_discount`) row each, `end` = the first period
  start after the run, null when it lasts to the spell's last period (coupon `forever`);
- native payments and refunds become charges, payment intents, refunds and balance transactions.

Where the native business leaves a choice, Stripe's own semantics decide:
- a period line ends at the spell's next period start, but no later than the native period's
  end (native period_end + 1 day at the period's time of day): billing stops at a pause (the
  resume starts a new period), and a spell's last period ends where the native one does
  (anchored months: Jan 31 -> Feb 29 -> Mar 31, not Feb 29 + 1 month);
- the reissue of an invoice voided by mistake bills the voided one's period: its line starts
  when the voided invoice was issued (the mapping does not read void invoices' lines, so the
  period's state must not wait for the reissue);
- a trial with no next event (still running at the horizon) ends trial_days after it started;
  a trialing version's current period is the trial;
- each proration line is at least one minor unit (credit negative, new state positive), so
  the two stay distinguishable by sign;
- price.unit_amount_decimal and a line's unit_amount_excluding_tax are decimals in minor units,
  as Stripe's are (3900 for 39.00 USD).

Amounts are integers in the currency's minor unit, currency codes lower case, instants
timestamp[us, UTC]. Everything is computed from the native files alone (no clock, no randomness),
vectorised in pandas.

Dirty mode (`dirty=True`) adds, in `<table>/<table>-dirt.parquet` files, rows the warehouse must
quarantine:
- invoice_line_item: 3 period lines delivered again with `_fivetran_synced` one day earlier and
  quantity + 1 (a superseded sync: the original, synced later, wins);
- subscription_history: 3 active versions delivered again one day earlier as `canceled`
  (ended_at = canceled_at = the version's start), same superseded-sync rule;
- price: one price `price_dirt_zzz` with the unknown currency `zzz`;
- subscription_item: one item `si_dirt_<spell>` of an existing subscription whose plan_id
  (`price_not_landed`) is no landed price.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..contract import TABLES, currency_minor_units
from ..sources import billing_sources
from .native_history import BILLING_TABLES, NativeHistory, read_native
from .write import _decimal

# instants are int64 microseconds since the epoch (UTC) while converting
US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR
SYNC_LAG = 5 * MINUTE  # Fivetran syncs a change a few minutes after it happened
CHARGE_LAG = 5 * US  # a proration invoice's charge follows it by a few seconds
CANCEL_NOTICE = 7 * DAY  # a cancel at period end is requested up to a week before
# the current version's _fivetran_end, as Fivetran writes it
END_OF_TIME = int(np.datetime64("9999-12-31T23:59:59", "us").astype("int64"))
DECIMAL_SCALE = 8
AVG_MONTH = 30.4375 * DAY
FEEDBACK = {
    "too_expensive": "too_expensive",
    "missing_features": "missing_features",
    "switched_competitor": "switched_service",
    "not_using": "unused",
    "other": "other",
}
FAILURE_MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}
REFUND_REASONS = ("requested_by_customer", "duplicate", "fraudulent")
# the native event types that change a Stripe subscription's own fields (plan and seat changes
# change its item and are invoiced as prorations; discount changes are discount rows)
STATUS_EVENTS = ("trial_started", "created", "reactivated", "activated", "paused", "resumed")


def write_stripe(native: Path, out: Path, dirty: bool = False) -> dict[str, int]:
    """Write the Stripe landing of a native Parquet landing; return rows written per Stripe
    table (dirt rows included)."""
    native, out = Path(native), Path(out)
    tables = stripe_tables(read_native(native))
    dirt = dirt_tables(tables) if dirty else {}
    counts = _write_tables(out / "stripe", tables, dirt)
    _copy_native(native, out)
    return counts


def stripe_tables(hist: NativeHistory) -> dict[str, pd.DataFrame]:
    """Every Stripe table as a DataFrame (instants as int64 microseconds, decimals as integers
    scaled by 1e8)."""
    units = currency_minor_units()
    events = _events(hist, units)
    periods = _periods(hist.invoices, events, units)
    changes = _prorations(events, periods)
    facts = _spell_facts(events, periods, hist.payments)
    history = _history(events, periods, changes, facts)
    invoices, lines = _invoices(hist, periods, changes, units)
    charges = _charges(hist, changes, units)
    runs = _discount_runs(periods)
    coupons = _coupons(runs)
    price, plan, product = _catalog(hist, events, units)
    tables = {
        "customer": _customers(hist.customers),
        "product": product,
        "price": price,
        "plan": plan,
        "coupon": coupons,
        "subscription_history": history,
        "subscription": _subscriptions(history),
        "subscription_item": _items(events, periods, facts),
        "discount": runs.assign(
            type="subscription", type_id=runs["subscription_id"], _fivetran_deleted=False
        ),
        "subscription_discount": runs,
        "invoice": invoices,
        "invoice_line_item": lines,
        "payment_intent": _payment_intents(charges, invoices),
        "charge": charges,
        "refund": _refunds(hist, charges, units),
        "balance_transaction": _balance_transactions(charges, hist, units),
    }
    return tables


# -- native history, resolved ------------------------------------------------------------------
def _micros(values: pd.Series) -> pd.Series:
    """Instants (or naive dates) as int64 microseconds since the epoch (UTC); NaT -> <NA>."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = values.to_numpy(dtype="datetime64[us]")
    ints = pd.array(raw.view("int64"), dtype="Int64")
    ints[np.isnat(raw)] = pd.NA
    return pd.Series(ints, index=values.index)


def _minor(amounts: pd.Series, currency: pd.Series, units: dict[str, int]) -> pd.Series:
    """Major-unit amounts as integer minor units of their currency (JPY 1200 -> 1200)."""
    scale = 10.0 ** currency.map(units).astype("float64")
    return pd.Series(np.rint(amounts.astype("float64") * scale), index=amounts.index).astype(
        "Int64"
    )


def _events(hist: NativeHistory, units: dict[str, int]) -> pd.DataFrame:
    ev = hist.events.copy()
    ev["t"] = _micros(ev["occurred_at"]).astype("int64")
    ev["unit"] = _minor(ev["unit_amount"], ev["currency"], units).astype("int64")
    ev["seq"] = np.arange(len(ev))  # read_native orders by subscription, instant, event_id
    # a Stripe price's amount never changes: a plan's current amount is its price (id = the
    # plan's), an earlier version's or a negotiated amount a price of its own
    latest = hist.latest_plans.set_index("plan_id")
    current = _minor(latest["unit_amount"], latest["currency"], units).astype("int64")
    is_current = ev["unit"].to_numpy() == ev["plan_id"].map(current).to_numpy()
    ev["price_id"] = np.where(
        is_current, ev["plan_id"], ev["plan_id"] + "_" + ev["unit"].astype(str)
    )
    return ev


def _state_at(left: pd.DataFrame, on: str, events: pd.DataFrame, by: str) -> pd.DataFrame:
    """`left` with the state (the last event at or before `on`) of its `by` subscription."""
    state = events.drop_duplicates([by, "t"], keep="last").sort_values("t")
    cols = [
        "t",
        by,
        "event_type",
        "plan_id",
        "price_id",
        "quantity",
        "unit",
        "discount_pct",
        "plan_name",
        "billing_interval",
        "interval_count",
    ]
    if by != "spell_id":
        cols.append("spell_id")
    merged = pd.merge_asof(
        left.sort_values(on),
        state[cols].rename(columns={"t": "state_t"}),
        left_on=on,
        right_on="state_t",
        by=by,
        direction="backward",
    )
    if merged["state_t"].isna().any():
        # e.g. a landing generated with --dirty: its late events are CSV, which read_native skips
        raise ValueError(
            "a subscription invoice precedes its subscription's first event: convert a clean "
            "native Parquet landing"
        )
    return merged


def _periods(invoices: pd.DataFrame, events: pd.DataFrame, units) -> pd.DataFrame:
    """One row per subscription invoice with its billing period and the state in force then.

    `ps` is the period's start: the invoice's issued_at, except for the reissue of an invoice
    voided by mistake, which bills the same period (it starts when the voided one was issued).
    `pe` is the spell's next period start, or the period's own end when billing stops before
    (a pause, the spell's end): the native period_end date + 1 day at the time of day the
    period started, as calendar months count from the anchor (Jan 31 -> Feb 29 -> Mar 31).
    `n` numbers the spell's periods from 0.
    """
    sub = invoices[invoices["subscription_id"].notna()].copy()
    # (a column of nulls only reads back as objects; merge keys must be alike)
    sub["subscription_id"] = sub["subscription_id"].astype("str")
    sub["issued"] = _micros(sub["issued_at"]).astype("int64")
    sub = _state_at(sub, "issued", events, "subscription_id")
    sub = sub.sort_values(["spell_id", "issued", "invoice_id"]).reset_index(drop=True)
    sub["ps"] = sub.groupby(["spell_id", "period_start"])["issued"].transform("min")
    sub["at_start"] = sub["state_t"] == sub["ps"]
    nominal_end = _micros(sub["period_end"]).astype("int64") + DAY + sub["ps"] % DAY
    starts = sub.drop_duplicates(["spell_id", "ps"])[["spell_id", "ps"]].copy()
    starts["next_ps"] = starts.groupby("spell_id")["ps"].shift(-1).astype("Int64")
    starts["n"] = starts.groupby("spell_id").cumcount()
    sub = sub.merge(starts, on=["spell_id", "ps"], how="left")
    sub["pe"] = np.minimum(sub["next_ps"].fillna(nominal_end), nominal_end).astype("int64")
    sub["cur"] = sub["currency"].str.lower()
    sub["minor_units"] = sub["currency"].map(units)
    return sub


def _prorations(events: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """One row per instant inside a period at which the plan or the seats changed: the state
    before (`old_*`) and after (`new_*`), and the period it falls in."""
    moves = events[events["event_type"].isin(("plan_changed", "quantity_changed"))]
    starts = periods[["spell_id", "ps"]].rename(columns={"ps": "t"}).assign(start=True)
    moves = moves.merge(starts.drop_duplicates(), on=["spell_id", "t"], how="left")
    moves = moves[moves["start"].isna()]
    grouped = moves.groupby(["spell_id", "t"], sort=False)["seq"]
    keys = pd.DataFrame({"first": grouped.min(), "last": grouped.max()}).reset_index()
    state_cols = ["plan_id", "price_id", "quantity", "unit", "plan_name"]
    by_seq = events.set_index("seq")
    old = by_seq.loc[keys["first"] - 1, state_cols].add_prefix("old_").reset_index(drop=True)
    new = by_seq.loc[keys["last"], state_cols].add_prefix("new_").reset_index(drop=True)
    changes = pd.concat([keys, old, new], axis=1).sort_values("t")
    period_cols = ["spell_id", "ps", "pe", "customer_id", "cur", "minor_units"]
    changes = pd.merge_asof(
        changes,
        periods[period_cols].sort_values("ps"),
        left_on="t",
        right_on="ps",
        by="spell_id",
        direction="backward",
        allow_exact_matches=False,
    )
    if changes["ps"].isna().any() or (changes["t"] >= changes["pe"]).any():
        raise ValueError("a plan or seat change outside a billing period")
    changes = changes.sort_values(["spell_id", "t"]).reset_index(drop=True)
    changes["invoice_id"] = (
        "in_"
        + changes["spell_id"]
        + "_p"
        + (changes.groupby("spell_id").cumcount() + 1).astype(str)
    )
    share = (changes["pe"] - changes["t"]) / (changes["pe"] - changes["ps"])
    # at least one minor unit each way: the credit line stays negative and the new state's line
    # positive, which is how the mapping tells them apart
    old_amount = _half_up(changes["old_quantity"] * changes["old_unit"] * share)
    new_amount = _half_up(changes["new_quantity"] * changes["new_unit"] * share)
    changes["old_amount"] = -np.maximum(old_amount, 1)
    changes["new_amount"] = np.maximum(new_amount, 1)
    changes["total"] = changes["old_amount"] + changes["new_amount"]
    return changes


def _half_up(x: pd.Series) -> pd.Series:
    return np.floor(x.astype("float64") + 0.5).astype("int64")


def _spell_facts(events: pd.DataFrame, periods: pd.DataFrame, payments) -> pd.DataFrame:
    """Per spell: start, trial, cancel (and whether it was requested for the period's end), and
    when its payment-failed cancel's dunning began."""
    g = events.groupby("spell_id", sort=False)
    facts = pd.DataFrame(
        {
            "customer_id": g["customer_id"].first(),
            "start": g["t"].min(),
            "first_type": g["event_type"].first(),
            "trial_days": g["trial_days"].first(),
        }
    )
    second = events.groupby("spell_id").nth(1).set_index("spell_id")["t"]
    facts["second_t"] = second.reindex(facts.index)
    trial = facts["first_type"] == "trial_started"
    scheduled = facts["start"] + facts["trial_days"].astype("int64") * DAY
    facts["trial_start"] = facts["start"].where(trial).astype("Int64")
    facts["trial_end"] = facts["second_t"].fillna(scheduled).where(trial).astype("Int64")

    cancels = events[events["status"] == "canceled"].drop_duplicates("spell_id", keep="last")
    before = events.set_index("seq").loc[cancels["seq"] - 1, "status"].to_numpy()
    cancels = cancels.assign(before=before)[["spell_id", "t", "cancel_reason", "before"]]
    last = periods.drop_duplicates("spell_id", keep="last")[["spell_id", "ps", "pe", "invoice_id"]]
    cancels = cancels.merge(last, on="spell_id", how="left").set_index("spell_id")
    facts["cancel_t"] = cancels["t"].astype("Int64")
    facts["cancel_reason"] = cancels["cancel_reason"]
    # a voluntary cancel at the end of the period in force was requested before, for then
    voluntary = cancels["cancel_reason"].ne("payment_failed")
    at_end = voluntary & cancels["before"].eq("active") & cancels["t"].eq(cancels["pe"])
    request = np.maximum(cancels["ps"] + HOUR, cancels["t"] - CANCEL_NOTICE)
    facts["request_t"] = request.where(at_end).astype("Int64")

    # dunning: the first failed attempt on the invoice whose collection failed
    attempts = payments[payments["status"] == "failed"]
    first_fail = _micros(attempts["attempted_at"]).groupby(attempts["invoice_id"]).min()
    dunned = cancels.loc[~voluntary, "invoice_id"]
    facts["past_due_t"] = dunned.map(first_fail).astype("Int64")
    return facts


# -- subscriptions --------------------------------------------------------------------------
def _history(events, periods, changes, facts) -> pd.DataFrame:
    """subscription_history: one version per instant a subscription's own fields change."""
    points = pd.concat(
        [
            events.loc[
                events["event_type"].isin(STATUS_EVENTS) | events["status"].eq("canceled"),
                ["spell_id", "t"],
            ],
            periods[["spell_id", "ps"]].rename(columns={"ps": "t"}),
            facts["request_t"].dropna().rename("t").rename_axis("spell_id").reset_index(),
            facts["past_due_t"].dropna().rename("t").rename_axis("spell_id").reset_index(),
        ]
    )
    points["t"] = points["t"].astype("int64")
    points = points.drop_duplicates().sort_values("t")

    state = events.drop_duplicates(["spell_id", "t"], keep="last").sort_values("t")
    v = pd.merge_asof(
        points,
        state[["t", "spell_id", "status", "seq"]],
        on="t",
        by="spell_id",
        direction="backward",
    )
    period = periods[["spell_id", "ps", "pe"]].sort_values("ps")
    v = pd.merge_asof(v, period, left_on="t", right_on="ps", by="spell_id", direction="backward")
    v = pd.merge_asof(v, _anchors(periods), left_on="t", right_on="anchor", by="spell_id")
    v = pd.merge_asof(
        v, _latest_invoices(periods, changes), left_on="t", right_on="inv_t", by="spell_id"
    )
    v = v.merge(_pauses(events), on=["spell_id", "seq"], how="left")
    v = v.join(facts, on="spell_id")
    return _version_columns(v)


def _anchors(periods: pd.DataFrame) -> pd.DataFrame:
    """Where each spell's billing cycle is anchored: its first period, and every re-anchor (a
    resume, an interval switch) at a period start."""
    first = periods["n"] == 0
    reanchor = periods["at_start"] & periods["event_type"].isin(("resumed", "plan_changed"))
    anchors = periods.loc[first | reanchor, ["spell_id", "ps"]]
    return anchors.rename(columns={"ps": "anchor"}).sort_values("anchor")


def _latest_invoices(periods: pd.DataFrame, changes: pd.DataFrame) -> pd.DataFrame:
    both = pd.concat(
        [
            periods[["spell_id", "issued", "invoice_id"]].rename(columns={"issued": "inv_t"}),
            changes[["spell_id", "t", "invoice_id"]].rename(columns={"t": "inv_t"}),
        ]
    )
    both = both.rename(columns={"invoice_id": "latest_invoice_id"})
    return both.sort_values(["inv_t", "latest_invoice_id"])


def _pauses(events: pd.DataFrame) -> pd.DataFrame:
    """Each pause event with the instant it was resumed (if it was)."""
    nxt = events.groupby("spell_id")[["event_type", "t"]].shift(-1)
    paused = events["event_type"] == "paused"
    resumes = nxt["t"].where(nxt["event_type"].eq("resumed"))
    return pd.DataFrame(
        {
            "spell_id": events.loc[paused, "spell_id"],
            "seq": events.loc[paused, "seq"],
            "paused": True,
            "resumes_at": resumes[paused].astype("Int64"),
        }
    )


def _version_columns(v: pd.DataFrame) -> pd.DataFrame:
    t = v["t"]
    canceled = v["status"].eq("canceled")
    requested = v["request_t"].notna() & (t >= v["request_t"])
    told = requested | canceled
    past_due = v["status"].eq("active") & v["past_due_t"].notna() & (t >= v["past_due_t"])
    status = v["status"].replace({"paused": "active"}).where(~past_due, "past_due")
    paused = v["paused"].eq(True) & ~canceled
    in_period = v["ps"].notna()
    reason = pd.Series(
        np.where(
            v["cancel_reason"].eq("payment_failed"), "payment_failed", "cancellation_requested"
        ),
        index=v.index,
    )
    out = pd.DataFrame(
        {
            "id": v["spell_id"],
            "customer_id": v["customer_id"],
            "status": status,
            "created": v["start"],
            "start_date": v["start"],
            "billing_cycle_anchor": v["anchor"]
            .astype("Int64")
            .fillna(v["trial_end"].fillna(v["start"])),
            "current_period_start": v["ps"].astype("Int64").where(in_period, v["trial_start"]),
            "current_period_end": v["pe"].astype("Int64").where(in_period, v["trial_end"]),
            "cancel_at_period_end": requested,
            "cancel_at": v["cancel_t"].where(requested),
            "canceled_at": v["request_t"].where(requested, v["cancel_t"].where(canceled)),
            "ended_at": v["cancel_t"].where(canceled),
            "trial_start": v["trial_start"],
            "trial_end": v["trial_end"],
            "pause_collection_behavior": pd.Series("void", index=v.index).where(paused),
            "pause_collection_resumes_at": v["resumes_at"].where(paused),
            "cancellation_details_reason": reason.where(told),
            "cancellation_details_feedback": v["cancel_reason"].map(FEEDBACK).where(told),
            "latest_invoice_id": v["latest_invoice_id"],
            "metadata": "{}",
            "livemode": True,
            "_fivetran_start": t,
        }
    )
    out = out.sort_values(["id", "_fivetran_start"]).reset_index(drop=True)
    nxt = out.groupby("id")["_fivetran_start"].shift(-1)
    out["_fivetran_active"] = nxt.isna()
    out["_fivetran_end"] = nxt.fillna(END_OF_TIME).astype("int64")
    out["_fivetran_synced"] = out["_fivetran_start"] + SYNC_LAG
    return out


def _subscriptions(history: pd.DataFrame) -> pd.DataFrame:
    latest = history[history["_fivetran_active"]].copy()
    for col in ("_fivetran_active", "_fivetran_start", "_fivetran_end"):
        latest[col] = None
    return latest.reset_index(drop=True)


def _items(events, periods, facts) -> pd.DataFrame:
    last = events.drop_duplicates("spell_id", keep="last").set_index("spell_id")
    period = periods.drop_duplicates("spell_id", keep="last").set_index("spell_id")
    spells = facts.index
    return pd.DataFrame(
        {
            "id": "si_" + spells,
            "subscription_id": spells,
            "plan_id": last.loc[spells, "price_id"].to_numpy(),
            "quantity": last.loc[spells, "quantity"].to_numpy(),
            "created": facts["start"].to_numpy(),
            "current_period_start": period["ps"]
            .reindex(spells)
            .astype("Int64")
            .fillna(facts["trial_start"])
            .to_numpy(),
            "current_period_end": period["pe"]
            .reindex(spells)
            .astype("Int64")
            .fillna(facts["trial_end"])
            .to_numpy(),
            "metadata": "{}",
            "_fivetran_synced": last.loc[spells, "t"].to_numpy() + SYNC_LAG,
        }
    )


# -- invoices -------------------------------------------------------------------------------
def _invoices(hist, periods, changes, units) -> tuple[pd.DataFrame, pd.DataFrame]:
    inv = hist.invoices.copy()
    for col in ("subtotal", "tax_amount", "total"):
        inv[col] = _minor(inv[col], inv["currency"], units)
    inv["created"] = _micros(inv["issued_at"])
    inv["updated"] = _micros(inv["updated_at"])
    ok = hist.payments[hist.payments["status"] == "succeeded"]
    paid_at = _micros(ok["attempted_at"]).groupby(ok["invoice_id"]).min()
    per = periods.set_index("invoice_id")
    sub = inv["invoice_id"].isin(per.index)
    status = inv["status"]
    invoices = pd.DataFrame(
        {
            "id": inv["invoice_id"],
            "customer_id": inv["customer_id"],
            "subscription_id": inv["invoice_id"].map(per["spell_id"]),
            "status": status,
            "billing_reason": np.where(
                ~sub,
                "manual",
                np.where(
                    inv["invoice_id"].map(per["n"]).eq(0),
                    "subscription_create",
                    "subscription_cycle",
                ),
            ),
            "created": inv["created"],
            "period_start": inv["invoice_id"].map(per["ps"]).astype("Int64").fillna(inv["created"]),
            "period_end": inv["invoice_id"].map(per["pe"]).astype("Int64").fillna(inv["created"]),
            "currency": inv["currency"].str.lower(),
            "subtotal": inv["subtotal"],
            "tax": inv["tax_amount"],
            "total": inv["total"],
            "amount_due": inv["total"],
            "amount_paid": inv["total"].where(status.eq("paid"), 0),
            "status_transitions_finalized_at": inv["created"].where(status.ne("draft")),
            "status_transitions_paid_at": inv["invoice_id"].map(paid_at).astype("Int64"),
            "status_transitions_voided_at": inv["updated"].where(status.eq("void")),
            "status_transitions_marked_uncollectible_at": inv["updated"].where(
                status.eq("uncollectible")
            ),
            "_fivetran_synced": inv["updated"] + SYNC_LAG,
        }
    )
    paid = changes["t"] + np.where(changes["total"] > 0, CHARGE_LAG, 0)
    prorations = pd.DataFrame(
        {
            "id": changes["invoice_id"],
            "customer_id": changes["customer_id"],
            "subscription_id": changes["spell_id"],
            "status": "paid",
            "billing_reason": "subscription_update",
            "created": changes["t"],
            "period_start": changes["t"],
            "period_end": changes["pe"].astype("int64"),
            "currency": changes["cur"],
            "subtotal": changes["total"],
            "tax": 0,
            "total": changes["total"],
            "amount_due": changes["total"].clip(lower=0),
            "amount_paid": changes["total"].clip(lower=0),
            "status_transitions_finalized_at": changes["t"],
            "status_transitions_paid_at": paid,
            "_fivetran_synced": paid + SYNC_LAG,
        }
    )
    invoices = pd.concat([invoices, prorations], ignore_index=True)
    invoices["is_deleted"] = False
    invoices["livemode"] = True
    lines = pd.concat(
        [_period_lines(periods), _one_off_lines(inv, units), _proration_lines(changes)],
        ignore_index=True,
    )
    lines["livemode"] = True
    lines["_fivetran_synced"] = lines["invoice_id"].map(
        invoices.set_index("id")["_fivetran_synced"]
    )
    return invoices, lines


def _describe(quantity: pd.Series, plan_name: pd.Series) -> pd.Series:
    return quantity.astype(str) + " × " + plan_name


def _unit_decimal(unit_minor: pd.Series) -> pd.Series:
    """A unit amount in minor units as Stripe's decimal of minor units, scaled by 1e8 (Stripe
    writes unit_amount_excluding_tax as "3900" for 39.00 USD)."""
    return unit_minor.astype("int64") * 10**DECIMAL_SCALE


def _period_lines(periods: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": "il_" + periods["invoice_id"],
            "invoice_id": periods["invoice_id"],
            "subscription_id": periods["spell_id"],
            "subscription_item_id": "si_" + periods["spell_id"],
            "price_id": periods["price_id"],
            "plan_id": periods["price_id"],
            "type": "subscription",
            "proration": False,
            "quantity": periods["quantity"],
            "amount": periods["quantity"] * periods["unit"],
            "unit_amount_excluding_tax": _unit_decimal(periods["unit"]),
            "currency": periods["cur"],
            "period_start": periods["ps"],
            "period_end": periods["pe"],
            "description": _describe(periods["quantity"], periods["plan_name"]),
            "discountable": True,
        }
    )


def _one_off_lines(inv: pd.DataFrame, units) -> pd.DataFrame:
    one = inv[inv["subscription_id"].isna()]
    return pd.DataFrame(
        {
            "id": "il_" + one["invoice_id"],
            "invoice_id": one["invoice_id"],
            "type": "invoiceitem",
            "proration": False,
            "quantity": 1,
            "amount": one["subtotal"],
            "unit_amount_excluding_tax": _unit_decimal(one["subtotal"]),
            "currency": one["currency"].str.lower(),
            "period_start": one["created"],
            "period_end": one["created"],
            "description": "One-off charge",
            "discountable": True,
        }
    )


def _proration_lines(changes: pd.DataFrame) -> pd.DataFrame:
    def side(prefix: str, n: int, words: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "id": "il_" + changes["invoice_id"] + f"_{n}",
                "invoice_id": changes["invoice_id"],
                "subscription_id": changes["spell_id"],
                "subscription_item_id": "si_" + changes["spell_id"],
                "price_id": changes[f"{prefix}_price_id"],
                "plan_id": changes[f"{prefix}_price_id"],
                "type": "subscription",
                "proration": True,
                "quantity": changes[f"{prefix}_quantity"],
                "amount": changes[f"{prefix}_amount"],
                # as Stripe bills it: the prorated amount per unit, not the price's unit amount
                "unit_amount_excluding_tax": np.rint(
                    changes[f"{prefix}_amount"] / changes[f"{prefix}_quantity"] * 10**DECIMAL_SCALE
                ).astype("int64"),
                "currency": changes["cur"],
                "period_start": changes["t"],
                "period_end": changes["pe"].astype("int64"),
                "description": words
                + _describe(changes[f"{prefix}_quantity"], changes[f"{prefix}_plan_name"]),
                "discountable": False,  # a proration invoice carries no discount
            }
        )

    return pd.concat([side("old", 1, "Unused time on "), side("new", 2, "Remaining time on ")])


# -- discounts ------------------------------------------------------------------------------
def _discount_runs(periods: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive periods of a spell with the same nonzero discount: one discount
    each, ending at the first period start after the run (null: it lasts to the last period)."""
    p = periods[["spell_id", "customer_id", "ps", "next_ps", "discount_pct"]].copy()
    p["pct"] = p["discount_pct"].astype("float64")
    prev = p.groupby("spell_id")["pct"].shift(1)
    p["run"] = (p["pct"].ne(prev) | prev.isna()).cumsum()
    p = p[p["pct"] > 0]
    # (groupby's last() would skip the null next_ps that marks a run lasting to the end)
    first = p.drop_duplicates("run", keep="first").set_index("run")
    last = p.drop_duplicates("run", keep="last").set_index("run")
    runs = pd.DataFrame(
        {
            "subscription_id": first["spell_id"],
            "customer_id": first["customer_id"],
            "pct": first["pct"],
            "start": first["ps"],
            "end": last["next_ps"],
        }
    ).reset_index(drop=True)
    runs["id"] = (
        "di_"
        + runs["subscription_id"]
        + "_"
        + (runs.groupby("subscription_id").cumcount() + 1).astype(str)
    )
    months = ((runs["end"] - runs["start"]) / AVG_MONTH).round().clip(lower=1)
    runs["duration_in_months"] = months.astype("Int64")
    pct_text = runs["pct"].map(lambda x: f"{x:g}".replace(".", "p")).astype("str")
    runs["coupon_id"] = (
        "pct"
        + pct_text
        + "_"
        + np.where(runs["end"].isna(), "forever", runs["duration_in_months"].astype(str) + "m")
    )
    runs["_fivetran_synced"] = runs["end"].fillna(runs["start"]).astype("int64") + SYNC_LAG
    return runs


def _coupons(runs: pd.DataFrame) -> pd.DataFrame:
    g = runs.groupby("coupon_id", sort=True)
    c = pd.DataFrame(
        {
            "pct": g["pct"].first(),
            "months": g["duration_in_months"].first(),
            "created": g["start"].min(),
        }
    ).reset_index()
    c["forever"] = c["coupon_id"].str.endswith("_forever")
    pct = c["pct"].map(lambda x: f"{x:g}").astype("str")
    return pd.DataFrame(
        {
            "id": c["coupon_id"],
            "name": pct
            + "% off "
            + np.where(c["forever"], "forever", "for " + c["months"].astype(str) + " months"),
            "percent_off": np.rint(c["pct"] * 10**DECIMAL_SCALE).astype("int64"),
            "duration": np.where(c["forever"], "forever", "repeating"),
            "duration_in_months": c["months"].where(~c["forever"]),
            "created": c["created"],
            "valid": True,
            "livemode": True,
            "_fivetran_synced": c["created"] + SYNC_LAG,
        }
    )


# -- payments -------------------------------------------------------------------------------
def _charges(hist: NativeHistory, changes: pd.DataFrame, units) -> pd.DataFrame:
    pay = hist.payments
    refunds = hist.refunds
    refunded = (
        _minor(refunds["amount"], refunds["currency"], units).groupby(refunds["payment_id"]).sum()
    )
    last_refund = _micros(refunds["refunded_at"]).groupby(refunds["payment_id"]).max()
    ok = pay["status"].eq("succeeded")
    created = _micros(pay["attempted_at"])
    charges = pd.DataFrame(
        {
            "id": pay["payment_id"],
            "customer_id": pay["customer_id"],
            "invoice_id": pay["invoice_id"],
            "payment_intent_id": "pi_" + pay["invoice_id"].fillna(pay["payment_id"]),
            "amount": _minor(pay["amount"], pay["currency"], units),
            "amount_refunded": pay["payment_id"].map(refunded).fillna(0).astype("int64"),
            "currency": pay["currency"].str.lower(),
            "status": pay["status"],
            "paid": ok,
            "failure_code": pay["failure_reason"],
            "failure_message": pay["failure_reason"].map(FAILURE_MESSAGES),
            "balance_transaction_id": ("txn_" + pay["payment_id"]).where(ok),
            "created": created,
            "_fivetran_synced": np.maximum(
                created, pay["payment_id"].map(last_refund).astype("Int64").fillna(created)
            )
            + SYNC_LAG,
        }
    )
    due = changes[changes["total"] > 0]
    at = due["t"] + CHARGE_LAG
    prorations = pd.DataFrame(
        {
            "id": "ch_" + due["invoice_id"],
            "customer_id": due["customer_id"],
            "invoice_id": due["invoice_id"],
            "payment_intent_id": "pi_" + due["invoice_id"],
            "amount": due["total"],
            "amount_refunded": 0,
            "currency": due["cur"],
            "status": "succeeded",
            "paid": True,
            "balance_transaction_id": "txn_ch_" + due["invoice_id"],
            "created": at,
            "_fivetran_synced": at + SYNC_LAG,
        }
    )
    charges = pd.concat([charges, prorations], ignore_index=True)
    charges["livemode"] = True
    return charges


def _payment_intents(charges: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    g = charges.groupby("payment_intent_id", sort=True)
    pi = (
        pd.DataFrame(
            {
                "customer_id": g["customer_id"].first(),
                "invoice_id": g["invoice_id"].first(),
                "charged": g["amount"].max(),
                "currency": g["currency"].first(),
                "succeeded": g["paid"].any(),
                "created": g["created"].min(),
                "synced": g["created"].max() + SYNC_LAG,
            }
        )
        .rename_axis("id")
        .reset_index()
    )
    total = pi["invoice_id"].map(invoices.set_index("id")["total"])
    return pd.DataFrame(
        {
            "id": pi["id"],
            "customer_id": pi["customer_id"],
            "amount": total.fillna(pi["charged"]).astype("int64"),
            "currency": pi["currency"],
            "status": np.where(pi["succeeded"], "succeeded", "requires_payment_method"),
            "created": pi["created"],
            "livemode": True,
            "_fivetran_synced": pi["synced"],
        }
    )


def _refunds(hist: NativeHistory, charges: pd.DataFrame, units) -> pd.DataFrame:
    r = hist.refunds
    created = _micros(r["refunded_at"])
    return pd.DataFrame(
        {
            "id": r["refund_id"],
            "charge_id": r["payment_id"],
            "payment_intent_id": r["payment_id"].map(charges.set_index("id")["payment_intent_id"]),
            "amount": _minor(r["amount"], r["currency"], units),
            "currency": r["currency"].str.lower(),
            "status": "succeeded",
            "reason": r["reason"].where(r["reason"].isin(REFUND_REASONS)),
            "balance_transaction_id": "txn_" + r["refund_id"],
            "created": created,
            "_fivetran_synced": created + SYNC_LAG,
        }
    )


def _balance_transactions(charges: pd.DataFrame, hist: NativeHistory, units) -> pd.DataFrame:
    ok = charges[charges["paid"]]
    amount = ok["amount"].astype("int64")
    # Stripe's card fee: 2.9 % + 30 minor units, rounded half up (integers only)
    fee = (2 * (amount * 29 + 30_000) + 1000) // 2000
    r = hist.refunds
    refund_amount = -_minor(r["amount"], r["currency"], units).astype("int64")
    refund_at = _micros(r["refunded_at"])
    txn = pd.concat(
        [
            pd.DataFrame(
                {
                    "id": ok["balance_transaction_id"],
                    "amount": amount,
                    "fee": fee,
                    "net": amount - fee,
                    "currency": ok["currency"],
                    "type": "charge",
                    "reporting_category": "charge",
                    "source": ok["id"],
                    "created": ok["created"],
                }
            ),
            pd.DataFrame(
                {
                    "id": "txn_" + r["refund_id"],
                    "amount": refund_amount,
                    "fee": 0,
                    "net": refund_amount,
                    "currency": r["currency"].str.lower(),
                    "type": "refund",
                    "reporting_category": "refund",
                    "source": r["refund_id"],
                    "created": refund_at,
                }
            ),
        ],
        ignore_index=True,
    )
    txn["status"] = "available"
    txn["_fivetran_synced"] = txn["created"] + SYNC_LAG
    return txn


# -- customers and catalog ------------------------------------------------------------------
def _customers(customers: pd.DataFrame) -> pd.DataFrame:
    meta = [
        json.dumps(
            {
                k: v
                for k, v in (("acquisition_channel", ch), ("acquisition_campaign_id", cm))
                if isinstance(v, str)
            }
        )
        for ch, cm in zip(
            customers["acquisition_channel"], customers["acquisition_campaign_id"], strict=True
        )
    ]
    return pd.DataFrame(
        {
            "id": customers["customer_id"],
            "email": customers["email"],
            "name": customers["full_name"],
            "phone": customers["phone"],
            "created": _micros(customers["created_at"]),
            "currency": customers["currency"].str.lower(),
            "address_country": customers["country"],
            "metadata": meta,
            "is_deleted": False,
            "livemode": True,
            "_fivetran_synced": _micros(customers["updated_at"]) + SYNC_LAG,
        }
    )


def _catalog(
    hist: NativeHistory, events: pd.DataFrame, units
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A price per plan (its current amount) and per other amount a subscription paid for it
    (an earlier version's, a negotiated one): Stripe's prices are immutable."""
    plans = hist.latest_plans.set_index("plan_id")
    used = events.drop_duplicates("price_id")[["price_id", "plan_id", "unit", "t"]]
    current = pd.DataFrame(
        {
            "price_id": plans.index,
            "plan_id": plans.index,
            "unit": _minor(plans["unit_amount"], plans["currency"], units).to_numpy(),
        }
    )
    first = _micros(hist.plans.groupby("plan_id")["updated_at"].min())
    prices = pd.concat([current, used[~used["price_id"].isin(plans.index)]])
    prices = prices.sort_values("price_id").reset_index(drop=True)
    attrs = plans.loc[prices["plan_id"]].reset_index(drop=True)
    created = prices["t"].astype("Int64").fillna(prices["plan_id"].map(first)).astype("int64")
    synced = created + SYNC_LAG
    amount = prices["unit"].astype("Int64")
    meta = [
        json.dumps({"tier": tier, "trial_days": int(days), "plan": plan})
        for tier, days, plan in zip(
            attrs["tier"], attrs["trial_days"], prices["plan_id"], strict=True
        )
    ]
    common = {
        "id": prices["price_id"],
        "product_id": "prod_" + attrs["product"],
        "currency": attrs["currency"].str.lower(),
        "billing_scheme": "per_unit",
        "nickname": attrs["plan_name"],
        "active": True,
        "created": created,
        "metadata": meta,
        "is_deleted": False,
        "livemode": True,
        "_fivetran_synced": synced,
    }
    price = pd.DataFrame(
        {
            **common,
            "unit_amount": amount,
            # Stripe's unit_amount_decimal is in minor units, like unit_amount
            "unit_amount_decimal": amount.astype("int64") * 10**DECIMAL_SCALE,
            "type": "recurring",
            "recurring_interval": attrs["billing_interval"],
            "recurring_interval_count": attrs["interval_count"],
            "recurring_usage_type": "licensed",
        }
    )
    plan = pd.DataFrame(
        {
            **common,
            "amount": amount,
            "interval": attrs["billing_interval"],
            "interval_count": attrs["interval_count"],
            "usage_type": "licensed",
            "trial_period_days": attrs["trial_days"],
        }
    )
    g = hist.plans.groupby("product", sort=True)["updated_at"].min()
    product = pd.DataFrame(
        {
            "id": "prod_" + g.index,
            "name": g.index.str.title(),
            "active": True,
            "created": _micros(g).to_numpy(),
            "metadata": "{}",
            "is_deleted": False,
            "livemode": True,
            "_fivetran_synced": _micros(g).to_numpy() + SYNC_LAG,
        }
    )
    return price, plan, product


# -- dirty mode -----------------------------------------------------------------------------
def _spread(df: pd.DataFrame, n: int) -> pd.DataFrame:
    """n rows evenly spread over `df` (in its order): a deterministic, varied pick."""
    if df.empty:
        return df
    return df.iloc[np.unique(np.linspace(0, len(df) - 1, n).astype(int))].copy()


def dirt_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The dirt rows of dirty mode (see the module docstring)."""
    lines = tables["invoice_line_item"]
    stale = _spread(lines[~lines["proration"] & lines["type"].eq("subscription")], 3)
    stale["quantity"] = stale["quantity"] + 1
    stale["_fivetran_synced"] = stale["_fivetran_synced"] - DAY

    history = tables["subscription_history"]
    old = _spread(history[history["status"].eq("active")], 3)
    old["status"] = "canceled"
    old["ended_at"] = old["canceled_at"] = old["_fivetran_start"]
    old["_fivetran_synced"] = old["_fivetran_synced"] - DAY

    price = tables["price"].head(1).copy()
    price["id"] = "price_dirt_zzz"
    price["currency"] = "zzz"

    item = tables["subscription_item"].head(1).copy()
    item["id"] = "si_dirt_" + item["subscription_id"]
    item["plan_id"] = "price_not_landed"
    return {
        "invoice_line_item": stale,
        "subscription_history": old,
        "price": price,
        "subscription_item": item,
    }


# -- files ----------------------------------------------------------------------------------
ARROW_TYPES = {
    "str": pa.string(),
    "json": pa.string(),
    "ts": pa.timestamp("us", tz="UTC"),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "decimal": pa.decimal128(18, DECIMAL_SCALE),
}


def _ints(values: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    mask = values.isna().to_numpy()
    data = values.astype("Int64").to_numpy(dtype="int64", na_value=0)
    return data, (mask if mask.any() else None)


def _arrow_column(kind: str, values: pd.Series) -> pa.Array:
    if kind in ("ts", "int"):
        data, mask = _ints(values)
        return pa.array(data, ARROW_TYPES[kind], mask=mask)
    if kind == "decimal":
        data, mask = _ints(values)
        return _decimal(data, mask, DECIMAL_SCALE)
    if kind == "bool":
        return pa.array(values.astype("boolean"), pa.bool_(), from_pandas=True)
    return pa.array(values.astype(object).where(values.notna(), None), pa.string())


def to_arrow(table: str, df: pd.DataFrame) -> pa.Table:
    """A Stripe table in the contract's columns and types; undeclared columns are dropped
    (working columns), declared ones not computed are null."""
    spec = billing_sources()["stripe"].tables[table]
    df = df.reset_index(drop=True)
    arrays = [
        _arrow_column(c.type, df[c.name])
        if c.name in df
        else pa.nulls(len(df), ARROW_TYPES[c.type])
        for c in spec.columns
    ]
    return pa.Table.from_arrays(arrays, names=spec.column_names)


def _write_tables(root: Path, tables, dirt) -> dict[str, int]:
    counts = {}
    for name in billing_sources()["stripe"].tables:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for stale in (folder / f"{name}.parquet", folder / f"{name}-dirt.parquet"):
            stale.unlink(missing_ok=True)  # only the files this converter writes
        data = to_arrow(name, tables[name])
        pq.write_table(data, folder / f"{name}.parquet", compression="zstd")
        counts[name] = data.num_rows
        if name in dirt:
            extra = to_arrow(name, dirt[name])
            pq.write_table(extra, folder / f"{name}-dirt.parquet", compression="zstd")
            counts[name] += extra.num_rows
    return counts


def _copy_native(native: Path, out: Path) -> None:
    """The native tables Stripe does not replace, copied as they are (day folders included)."""
    if native.resolve() == out.resolve():
        return
    for table in TABLES:
        src = native / table
        if table not in BILLING_TABLES and src.is_dir():
            shutil.copytree(src, out / table, dirs_exist_ok=True)
