"""From `marts.churn_features` (and `marts.churn_feature_traits`) rows to the model's numeric
inputs, and each input in words.

Behaviour inputs are oriented and scaled so that a logistic coefficient reads plainly; counts are
log1p'd so one customer with 40 tickets does not dominate the fit. Categorical inputs (the plan
tier, customer traits such as contract type) are one-hot encoded with rare levels pooled; numeric
traits enter as numbers (log1p'd when they span orders of magnitude); the model's scaler
standardises everything. The encoding is learned on the training rows and applied unchanged to
the rows scored, so a level first seen later is "other".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SATISFACTION_MIDPOINT = 3.0  # a 1-5 score: below the midpoint is dissatisfied
# a level held by fewer training rows than this (or this share of them) is pooled into "other"
MIN_LEVEL_ROWS = 20
MIN_LEVEL_SHARE = 0.01
OTHER, MISSING = "other", "missing"
# non-negative numbers this skewed are log1p'd (company size, revenue, seats)
LOG_SKEW = 2.0
# plan columns of churn_features encoded like traits
CATEGORICAL_FEATURES = ("primary_tier",)


def _share_change(now: pd.Series, before: pd.Series) -> pd.Series:
    """(now - before) / max(now, before): -1 = fell to zero, +1 = grew from zero, 0 = flat."""
    top = np.maximum(now, before)
    return ((now - before) / top.where(top > 0)).fillna(0.0)


def behaviour_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """One numeric column per behaviour input, indexed like `frame`."""
    mrr = frame["mrr"].astype(float)
    usage = frame["usage_last_30_days"].astype(float)
    baseline = frame["usage_baseline_per_30_days"].astype(float)
    satisfaction = frame["avg_satisfaction_last_90_days"].astype(float)
    return pd.DataFrame(
        {
            "log_tenure_days": np.log1p(frame["tenure_days"].astype(float)),
            "log_mrr": np.log1p(mrr),
            "mrr_change": _share_change(mrr, frame["mrr_one_horizon_before"].astype(float)),
            "usage_change": _share_change(usage, baseline),
            "has_no_recent_usage": (usage == 0).astype(float),
            "log_failed_payments": np.log1p(frame["failed_payments_last_90_days"].astype(float)),
            "log_tickets": np.log1p(frame["tickets_last_90_days"].astype(float)),
            "log_low_satisfaction_tickets": np.log1p(
                frame["low_satisfaction_tickets_last_90_days"].astype(float)
            ),
            "dissatisfaction": (SATISFACTION_MIDPOINT - satisfaction).fillna(0.0),
            "negative_sentiment": (-frame["avg_sentiment_last_90_days"].astype(float)).fillna(0.0),
            "log_campaign_engagements": np.log1p(
                frame["campaign_engagements_last_90_days"].astype(float)
            ),
            "has_unsubscribed": (frame["campaign_unsubscribes_last_90_days"] > 0).astype(float),
            "has_annual_plan": frame["has_annual_plan"].astype(float),
            "has_discount": frame["has_discount"].astype(float),
            "log_active_subscriptions": np.log1p(frame["active_subscriptions"].astype(float)),
        },
        index=frame.index,
    )


def with_traits(features: pd.DataFrame, traits: pd.DataFrame | None) -> pd.DataFrame:
    """`features` with one column `trait:<name>` per attribute in `traits` (long rows of
    customer_id, cutoff_at, attribute_name, attribute_value), null where not in force."""
    if traits is None or traits.empty:
        return features
    wide = traits.pivot_table(
        index=["customer_id", "cutoff_at"],
        columns="attribute_name",
        values="attribute_value",
        aggfunc="first",
    )
    wide.columns = [f"trait:{name}" for name in wide.columns]
    joined = features.join(wide, on=["customer_id", "cutoff_at"])
    joined.index = features.index
    return joined


def trait_columns(frame: pd.DataFrame) -> list[str]:
    return sorted(c for c in frame.columns if c.startswith("trait:"))


LABELS = {"primary_tier": "plan tier"}


def _label(column: str) -> str:
    return LABELS.get(column) or column.removeprefix("trait:").replace("_", " ")


@dataclass(frozen=True)
class Encoding:
    """What the training rows taught: the kept levels of each categorical column, and for each
    numeric trait whether it is log1p'd and what fills a missing value."""

    levels: dict[str, list[str]]
    numeric: dict[str, tuple[bool, float]]


def _as_levels(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), MISSING).astype(str)


def fit_encoding(train: pd.DataFrame, categorical: list[str]) -> Encoding:
    """Learn the encoding of `categorical` columns and numeric traits from training rows."""
    levels, numeric = {}, {}
    minimum = max(MIN_LEVEL_ROWS, MIN_LEVEL_SHARE * len(train))
    for name in categorical:
        values = train[name] if name in train else pd.Series(np.nan, index=train.index)
        parsed = pd.to_numeric(values, errors="coerce")
        if (
            name.startswith("trait:")
            and values.notna().any()
            and parsed.notna().eq(values.notna()).all()
        ):
            present = parsed.dropna()
            log = bool(present.min() >= 0 and present.skew() > LOG_SKEW)
            fill = float(np.log1p(present).median() if log else present.median())
            numeric[name] = (log, fill)
            continue
        counts = _as_levels(values).value_counts()
        kept = sorted(counts[counts >= minimum].index)
        if len(counts) > len(kept):
            kept.append(OTHER)
        # one level carries nothing the intercept does not
        if len(kept) > 1:
            levels[name] = kept
    return Encoding(levels, numeric)


def encode(frame: pd.DataFrame, encoding: Encoding) -> pd.DataFrame:
    """The model's numeric inputs of `frame` (features joined with traits), in encoding order."""
    parts = [behaviour_inputs(frame)]
    for name, (log, fill) in encoding.numeric.items():
        values = pd.to_numeric(frame.get(name), errors="coerce")
        values = np.log1p(values) if log else values
        parts.append(
            pd.DataFrame(
                {
                    name: values.fillna(fill).astype(float),
                    f"{name} missing": values.isna().astype(float),
                },
                index=frame.index,
            )
        )
    for name, kept in encoding.levels.items():
        values = _as_levels(frame[name]) if name in frame else pd.Series(MISSING, frame.index)
        values = values.where(values.isin(kept), OTHER)
        parts.append(
            pd.DataFrame(
                {f"{name}={level}": (values == level).astype(float) for level in kept},
                index=frame.index,
            )
        )
    return pd.concat(parts, axis=1)


def _count(n: pd.Series, one: str, many: str) -> pd.Series:
    n = n.astype(int)
    return np.where(n == 1, one, n.astype(str) + " " + many)


def _percent(share: pd.Series) -> pd.Series:
    return (share.abs() * 100).round().astype(int).astype(str) + "%"


def _behaviour_phrases(frame: pd.DataFrame) -> tuple[dict, dict]:
    inputs = behaviour_inputs(frame)
    days = frame["tenure_days"].astype(int).astype(str)
    usage_change = inputs["usage_change"]
    mrr_change = inputs["mrr_change"]

    def constant(text: str) -> pd.Series:
        return pd.Series(text, frame.index)

    high_side = {
        "log_tenure_days": "long tenure (" + days + " days)",
        "log_mrr": constant("high MRR"),
        "mrr_change": "MRR up " + _percent(mrr_change) + " in 90 days",
        "usage_change": "usage up " + _percent(usage_change) + " on own baseline",
        "has_no_recent_usage": constant("no product usage in the last 30 days"),
        "log_failed_payments": pd.Series(
            _count(frame["failed_payments_last_90_days"], "a failed payment", "failed payments"),
            frame.index,
        )
        + " in the last 90 days",
        "log_tickets": pd.Series(
            _count(frame["tickets_last_90_days"], "a support ticket", "support tickets"),
            frame.index,
        )
        + " in the last 90 days",
        "log_low_satisfaction_tickets": pd.Series(
            _count(
                frame["low_satisfaction_tickets_last_90_days"],
                "a low-satisfaction ticket",
                "low-satisfaction tickets",
            ),
            frame.index,
        )
        + " in the last 90 days",
        "dissatisfaction": "support satisfaction "
        + frame["avg_satisfaction_last_90_days"].astype(float).round(1).astype(str)
        + "/5",
        "negative_sentiment": constant("negative social sentiment"),
        "log_campaign_engagements": constant("engages with campaigns"),
        "has_unsubscribed": constant("unsubscribed from a campaign"),
        "has_annual_plan": constant("on an annual plan"),
        "has_discount": constant("on a discount"),
        "log_active_subscriptions": constant("several subscriptions"),
    }
    low_side = {
        "log_tenure_days": "short tenure (" + days + " days)",
        "log_mrr": constant("low MRR"),
        "mrr_change": "MRR down " + _percent(mrr_change) + " in 90 days",
        "usage_change": "usage down " + _percent(usage_change) + " on own baseline",
        "has_no_recent_usage": constant("uses the product"),
        "log_failed_payments": constant("no failed payments"),
        "log_tickets": constant("no support tickets in the last 90 days"),
        "log_low_satisfaction_tickets": constant("no low-satisfaction tickets"),
        "dissatisfaction": constant("satisfied with support"),
        "negative_sentiment": constant("positive social sentiment"),
        "log_campaign_engagements": constant("no campaign engagement in the last 90 days"),
        "has_unsubscribed": constant("subscribed to campaigns"),
        "has_annual_plan": constant("no annual commitment"),
        "has_discount": constant("pays full price"),
        "log_active_subscriptions": constant("a single subscription"),
    }
    return high_side, low_side


def describe(frame: pd.DataFrame, encoding: Encoding, raises_risk: dict[str, bool]):
    """Each input as a phrase about this subscriber, in the direction that raised their risk.

    `raises_risk[input]` is True when a higher value of the input raises the risk (a positive
    coefficient): the phrase then describes the high side, else the low side. A one-hot level
    speaks only for subscribers who have it ("contract type: month_to_month"); lacking a level
    is never named.
    """
    high_side, low_side = _behaviour_phrases(frame)
    for name in encoding.numeric:
        shown = frame[name].astype(str) if name in frame else pd.Series("", frame.index)
        high_side[name] = "high " + _label(name) + " (" + shown + ")"
        low_side[name] = "low " + _label(name) + " (" + shown + ")"
        high_side[f"{name} missing"] = pd.Series(f"no {_label(name)} on record", frame.index)
        low_side[f"{name} missing"] = pd.Series("", frame.index)
    for name, kept in encoding.levels.items():
        for level in kept:
            column = f"{name}={level}"
            shown = "other" if level == OTHER else level
            high_side[column] = pd.Series(f"{_label(name)}: {shown}", frame.index)
            low_side[column] = pd.Series("", frame.index)
    return pd.DataFrame(
        {
            name: pd.Series(high_side[name] if up else low_side[name], index=frame.index)
            for name, up in raises_risk.items()
        }
    )
