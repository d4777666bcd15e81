"""Charts of one-off buyers: their predicted spend and P(alive), from purchase_clv_predictions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from subscriber_warehouse.report.customer_charts import log_bins
from subscriber_warehouse.report.style import PERCENT, SERIES_COLOURS, base_layout, money_title

# by repeat purchases (weeks with a purchase after the first): P(alive) of a buyer who never
# came back is 1 by the BG/NBD model's construction, so that band is a line at 100 %
REPEAT_BANDS = (
    ("no repeat purchase", 0, 0),
    ("1 repeat", 1, 1),
    ("2–3 repeats", 2, 3),
    ("4+ repeats", 4, math.inf),
)
# points per band: weeks are grouped so a long history still draws a readable line
MAX_RECENCY_POINTS = 60


def spend_distribution(spend: pd.Series, horizon_weeks: int, currency: str) -> go.Figure:
    """A step histogram on log-spaced bins, counted here so the page carries counts, not buyers."""
    values = spend.dropna().to_numpy(dtype=float)
    edges = log_bins(values)
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    fig = go.Figure(
        go.Scatter(
            x=edges,
            y=[*counts, counts[-1] if counts.size else 0],
            name="Predicted spend",
            mode="lines",
            line={"color": SERIES_COLOURS[4], "shape": "hv", "width": 1.5},
            fill="tozeroy",
            hovertemplate=f"from {currency} %{{x:,.2f}}: %{{y:,}} buyers<extra></extra>",
        )
    )
    fig.update_xaxes(
        type="log",
        dtick="D2",  # 2 and 5 between powers of ten: every digit crowds a narrow chart
        title=money_title(f"predicted spend over the next {horizon_weeks} weeks, log", currency),
    )
    fig.update_yaxes(title="one-off buyers")
    return base_layout(fig)


def alive_by_recency(purchases: pd.DataFrame) -> go.Figure:
    """Mean P(alive) by weeks since the last purchase (age − recency), one line per repeat band."""
    since = purchases["age_weeks"] - purchases["recency_weeks"]
    step = max(1, math.ceil((int(since.max()) + 1) / MAX_RECENCY_POINTS))
    frame = purchases.assign(weeks=since // step * step)
    fig = go.Figure()
    for (label, low, high), colour in zip(REPEAT_BANDS, SERIES_COLOURS, strict=False):
        rows = frame[frame["repeat_purchase_weeks"].between(low, high)]
        if rows.empty:
            continue
        points = rows.groupby("weeks")["probability_alive"].agg(["mean", "size"]).reset_index()
        fig.add_scatter(
            x=points["weeks"],
            y=points["mean"],
            customdata=points["size"],
            name=label,
            mode="lines+markers",
            line={"color": colour},
            marker={"size": 5},
            hovertemplate=f"%{{x}} weeks: %{{y:{PERCENT}}} (%{{customdata:,}} buyers)",
        )
    fig.update_yaxes(title="mean P(alive)", tickformat=".0%", range=[0, 1.02])
    steps = "" if step == 1 else f" (in steps of {step})"
    fig.update_xaxes(title=f"recency: weeks since the last purchase{steps}")
    return base_layout(fig)
