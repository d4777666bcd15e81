"""Month-end MRR and movements recomputed from the raw tables with pandas, independently of dbt.

It follows the metric contract's words directly: dedupe deliveries, resolve the plan version in
force, take each subscription's last event before the next month began, price it, convert it at
the rate of the day that state began, sum per customer and classify against the month before.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

FACTOR = {"month": 1.0, "year": 1 / 12, "week": 52 / 12, "day": 365 / 12}


def _events(con) -> pd.DataFrame:
    events = con.execute("select * from raw.subscription_events").df()
    events = events.sort_values(["_source_file", "_source_row"]).drop_duplicates(
        "event_id", keep="last"
    )
    return events.sort_values(["subscription_id", "occurred_at", "event_id"]).reset_index(drop=True)


def _with_plan_version(events: pd.DataFrame, plans: pd.DataFrame) -> pd.DataFrame:
    plans = plans.sort_values(["plan_id", "updated_at", "_source_file", "_source_row"])
    plans = plans.drop_duplicates(["plan_id", "updated_at"], keep="last")
    rows = []
    for plan_id, versions in plans.groupby("plan_id"):
        mask = events["plan_id"] == plan_id
        times = versions["updated_at"].to_numpy()
        # the latest version with updated_at <= t; before the first, the first
        idx = np.searchsorted(times, events.loc[mask, "occurred_at"].to_numpy(), side="right") - 1
        chosen = versions.iloc[np.clip(idx, 0, None)]
        rows.append(
            pd.DataFrame(
                {
                    "plan_unit_amount": chosen["unit_amount"].astype(float).to_numpy(),
                    "plan_currency": chosen["currency"].to_numpy(),
                    "factor": [
                        FACTOR[i] / n
                        for i, n in zip(
                            chosen["billing_interval"], chosen["interval_count"], strict=True
                        )
                    ],
                },
                index=events.index[mask],
            )
        )
    return events.join(pd.concat(rows))


def _rate(fx: pd.DataFrame, currency: str, day) -> float:
    if currency == "USD" and "USD" not in fx.index:
        return 1.0
    series = fx.loc[currency]
    before = series[series.index <= day]
    return float(before.iloc[-1]) if len(before) else float("nan")


def subscription_states(con) -> pd.DataFrame:
    events = _with_plan_version(_events(con), con.execute("select * from raw.plans").df())
    fx = (
        con.execute("select rate_date, currency, rate_to_usd from raw.fx_rates")
        .df()
        .assign(rate_date=lambda d: pd.to_datetime(d["rate_date"]))
        .set_index(["currency", "rate_date"])["rate_to_usd"]
        .astype(float)
        .sort_index()
    )
    unit = events["unit_amount"].astype(float).fillna(events["plan_unit_amount"])
    discount = events["discount_pct"].astype(float).fillna(0.0)
    currency = events["currency"].fillna(events["plan_currency"])
    local = unit * events["quantity"] * (1 - discount / 100) * events["factor"]
    local = local.where(events["status"] == "active", 0.0)
    days = events["occurred_at"].dt.normalize()
    rates = [_rate(fx, c, d) for c, d in zip(currency, days, strict=True)]
    return events.assign(mrr=local * np.array(rates))


def customer_month_mrr(con) -> pd.DataFrame:
    """One row per customer and month with MRR > 0 at the month end (rounded to cents)."""
    states = subscription_states(con)
    last = states["occurred_at"].max()
    months = pd.date_range(
        states["occurred_at"].min().to_period("M").to_timestamp(),
        last.to_period("M").to_timestamp(),
        freq="MS",
    )
    frames = []
    for month in months:
        boundary = month + pd.offsets.MonthBegin(1)
        at_end = states[states["occurred_at"] < boundary].groupby("subscription_id").tail(1)
        paying = at_end[at_end["mrr"] > 0]
        per_customer = paying.groupby("customer_id")["mrr"].sum().round(2)
        per_customer = per_customer[per_customer > 0]
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": per_customer.index,
                    "month_start": month,
                    "mrr": per_customer.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True), months


def movements(con) -> pd.DataFrame:
    mrr, months = customer_month_mrr(con)
    cur = mrr.set_index(["customer_id", "month_start"])["mrr"]
    first_paid = mrr.groupby("customer_id")["month_start"].min()
    keys = set(cur.index)
    for customer, month in list(cur.index):
        following = month + pd.offsets.MonthBegin(1)
        if following <= months[-1]:
            keys.add((customer, following))
    rows = []
    for customer, month in sorted(keys):
        now = cur.get((customer, month), 0.0)
        before = cur.get((customer, month - pd.offsets.MonthBegin(1)), 0.0)
        if before == 0 and now > 0:
            movement = "new" if month == first_paid[customer] else "reactivation"
        elif before > 0 and now == 0:
            movement = "churn"
        elif now > before:
            movement = "expansion"
        elif now < before:
            movement = "contraction"
        else:
            movement = "retained"
        rows.append((customer, month, now, before, movement))
    return pd.DataFrame(
        rows, columns=["customer_id", "month_start", "mrr", "mrr_previous", "movement"]
    )


def compute(warehouse) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return movements(con)
    finally:
        con.close()
