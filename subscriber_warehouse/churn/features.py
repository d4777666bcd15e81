"""From `marts.churn_features` rows to the model's numeric inputs, and each input in words.

Every input is oriented and scaled so that a logistic coefficient reads plainly; counts are
log1p'd so one customer with 40 tickets does not dominate the fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SATISFACTION_MIDPOINT = 3.0  # a 1-5 score: below the midpoint is dissatisfied


def _share_change(now: pd.Series, before: pd.Series) -> pd.Series:
    """(now - before) / max(now, before): -1 = fell to zero, +1 = grew from zero, 0 = flat."""
    top = np.maximum(now, before)
    return ((now - before) / top.where(top > 0)).fillna(0.0)


def model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """One numeric column per model input, indexed like `frame`."""
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
            "has_business_tier": frame["has_business_tier"].astype(float),
            "has_discount": frame["has_discount"].astype(float),
            "log_active_subscriptions": np.log1p(frame["active_subscriptions"].astype(float)),
        },
        index=frame.index,
    )


def _count(n: pd.Series, one: str, many: str) -> pd.Series:
    n = n.astype(int)
    return np.where(n == 1, one, n.astype(str) + " " + many)


def _percent(share: pd.Series) -> pd.Series:
    return (share.abs() * 100).round().astype(int).astype(str) + "%"


def describe(frame: pd.DataFrame, raises_risk: dict[str, bool]) -> pd.DataFrame:
    """Each input as a phrase about this subscriber, in the direction that raised their risk.

    `raises_risk[input]` is True when a higher value of the input raises the risk (a positive
    coefficient): the phrase then describes the high side, else the low side.
    """
    inputs = model_inputs(frame)
    days = frame["tenure_days"].astype(int).astype(str)
    usage_change = inputs["usage_change"]
    mrr_change = inputs["mrr_change"]
    high_side = {
        "log_tenure_days": "long tenure (" + days + " days)",
        "log_mrr": "high MRR",
        "mrr_change": "MRR up " + _percent(mrr_change) + " in 90 days",
        "usage_change": "usage up " + _percent(usage_change) + " on own baseline",
        "has_no_recent_usage": pd.Series("no product usage in the last 30 days", frame.index),
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
        "negative_sentiment": "negative social sentiment",
        "log_campaign_engagements": "engages with campaigns",
        "has_unsubscribed": pd.Series("unsubscribed from a campaign", frame.index),
        "has_annual_plan": pd.Series("on an annual plan", frame.index),
        "has_business_tier": pd.Series("on a business or enterprise tier", frame.index),
        "has_discount": pd.Series("on a discount", frame.index),
        "log_active_subscriptions": "several subscriptions",
    }
    low_side = {
        "log_tenure_days": "short tenure (" + days + " days)",
        "log_mrr": "low MRR",
        "mrr_change": "MRR down " + _percent(mrr_change) + " in 90 days",
        "usage_change": "usage down " + _percent(usage_change) + " on own baseline",
        "has_no_recent_usage": pd.Series("uses the product", frame.index),
        "log_failed_payments": pd.Series("no failed payments", frame.index),
        "log_tickets": pd.Series("no support tickets in the last 90 days", frame.index),
        "log_low_satisfaction_tickets": pd.Series("no low-satisfaction tickets", frame.index),
        "dissatisfaction": pd.Series("satisfied with support", frame.index),
        "negative_sentiment": "positive social sentiment",
        "log_campaign_engagements": pd.Series(
            "no campaign engagement in the last 90 days", frame.index
        ),
        "has_unsubscribed": pd.Series("subscribed to campaigns", frame.index),
        "has_annual_plan": pd.Series("no annual commitment", frame.index),
        "has_business_tier": pd.Series("on a starter or pro tier", frame.index),
        "has_discount": pd.Series("pays full price", frame.index),
        "log_active_subscriptions": "a single subscription",
    }
    return pd.DataFrame(
        {
            name: pd.Series(high_side[name] if up else low_side[name], index=frame.index)
            for name, up in raises_risk.items()
        }
    )
