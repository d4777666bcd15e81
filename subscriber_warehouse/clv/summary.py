"""Transactions table → per-customer (frequency, recency, T, monetary_value).

Same conventions as ``lifetimes.utils.summary_data_from_transaction_data``: dates are bucketed
into periods (``freq`` "D" days or "W" weeks); several purchases in one period count as one
(their amounts are summed); frequency = number of distinct purchase periods after the first;
recency = last minus first purchase period and T = calibration-end period minus first purchase
period, both in periods; monetary_value = mean per-period amount over the repeat periods (the
first purchase excluded), 0 for customers with no repeat purchase.

One deliberate difference: rows dated after ``calibration_end`` are dropped *before* bucketing,
so with weekly periods a purchase later in the calibration-end week is not counted (lifetimes
keeps it because it compares period starts).
"""

from __future__ import annotations

import pandas as pd

_UNITS = {"D": pd.Timedelta(days=1), "W": pd.Timedelta(weeks=1)}


def summary_from_transactions(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    calibration_end,
    amount_col: str | None = None,
    freq: str = "D",
) -> pd.DataFrame:
    """Return a frame indexed by customer with frequency, recency, T [, monetary_value]."""
    if freq not in _UNITS:
        raise ValueError(f"freq must be one of {sorted(_UNITS)}")
    end = pd.Timestamp(calibration_end)
    cols = [customer_col, date_col] + ([amount_col] if amount_col else [])
    frame = transactions[cols].copy()
    frame[date_col] = pd.to_datetime(frame[date_col])
    frame = frame[frame[date_col] <= end]
    if frame.empty:
        raise ValueError("no transactions on or before the calibration end date")
    frame["_period"] = frame[date_col].dt.to_period(freq).dt.start_time
    end_start = end.to_period(freq).start_time

    agg = {amount_col: "sum"} if amount_col else {date_col: "size"}
    periods = frame.groupby([customer_col, "_period"], sort=True).agg(agg).reset_index()
    grouped = periods.groupby(customer_col, sort=True)["_period"]
    first, last, count = grouped.min(), grouped.max(), grouped.size()
    unit = _UNITS[freq]
    out = pd.DataFrame(
        {
            "frequency": (count - 1).astype(float),
            "recency": (last - first) / unit,
            "T": (end_start - first) / unit,
        }
    )
    if amount_col:
        is_first = periods["_period"].eq(periods[customer_col].map(first))
        repeat_mean = periods.loc[~is_first].groupby(customer_col)[amount_col].mean()
        out["monetary_value"] = repeat_mean.reindex(out.index).fillna(0.0).astype(float)
    out.index.name = customer_col
    return out.astype(float)
