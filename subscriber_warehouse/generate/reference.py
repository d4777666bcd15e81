"""Rows of the reference tables (plans, campaigns, fx_rates), written once as chunk 00000."""

from __future__ import annotations

import numpy as np

from .catalog import INTERVALS, Catalog
from .timeutil import DAY


def plan_rows(cat: Catalog) -> list[tuple]:
    rows = []
    for p in sorted(cat.plans.values(), key=lambda p: p.plan_id):
        interval, count, _ = INTERVALS[p.interval]
        name = f"{p.product.title()} {p.tier.title()} ({p.interval.title()})"
        for updated_at, amount in p.versions:
            rows.append(
                (
                    p.plan_id,
                    p.product,
                    name,
                    p.tier,
                    interval,
                    count,
                    amount,
                    p.currency,
                    p.trial_days,
                    updated_at,
                )
            )
    return rows


def campaign_rows(cat: Catalog) -> list[tuple]:
    rows = [
        (c.campaign_id, c.name, c.channel, c.started_at, c.ended_at, c.spend, c.currency)
        for c in cat.campaigns
    ]
    for r in cat.retention:  # in-app offers: their cost is the discount (campaign_lift)
        ended = r.sent_at + 7 * DAY if r.sent_at + 7 * DAY < cat.t_end else None
        rows.append((r.campaign_id, r.name, "in_app", r.sent_at, ended, 0, "USD"))
    return rows


def fx_columns(cat: Catalog) -> dict[str, object]:
    currencies = sorted(cat.fx)
    n_days = len(cat.fx[currencies[0]])
    days = np.arange(n_days, dtype=np.int64) + cat.t_start // DAY
    return {
        "rate_date": np.tile(days, len(currencies)),
        "currency": [c for c in currencies for _ in range(n_days)],
        "rate_to_usd": np.concatenate([cat.fx[c] for c in currencies]),
    }
