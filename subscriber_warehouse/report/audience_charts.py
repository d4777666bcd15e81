"""Charts of who to act on: churn-risk tiers, value × risk segments, audiences, acquisition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from subscriber_warehouse.report.style import (
    MONEY,
    NEUTRAL,
    SERIES_COLOURS,
    TIER_COLOURS,
    base_layout,
)

TIERS = ("high", "medium", "low")
CHANNEL_COLOURS = {"email": "#1e88e5", "sms": "#8e24aa", "none": NEUTRAL}
# the common rule of thumb: a customer should return at least three times what acquiring cost
LTV_TO_CAC_TARGET = 3.0


def risk_tiers(tiers: pd.DataFrame) -> go.Figure:
    by_tier = tiers.set_index("risk_tier").reindex(TIERS)
    fig = go.Figure(
        go.Bar(
            x=[t.title() for t in TIERS],
            y=by_tier["customers"].fillna(0),
            marker_color=[TIER_COLOURS[t] for t in TIERS],
            customdata=by_tier["avg_probability"],
            text=[f"{int(n):,}" for n in by_tier["customers"].fillna(0)],
            textposition="outside",
            hovertemplate="%{x}: %{y:,} customers<br>mean churn probability "
            "%{customdata:.1%}<extra></extra>",
        )
    )
    fig.update_yaxes(title="customers")
    return base_layout(fig)


def risk_probabilities(scores: pd.DataFrame) -> go.Figure:
    counts, edges = np.histogram(scores["churn_probability"].dropna(), bins=20, range=(0.0, 1.0))
    fig = go.Figure(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=edges[1] - edges[0],
            marker_color=SERIES_COLOURS[1],
            hovertemplate="p ≈ %{x:.0%}: %{y:,} customers<extra></extra>",
        )
    )
    fig.update_xaxes(title="predicted churn probability", tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title="customers")
    return base_layout(fig)


def value_risk_matrix(segments: pd.DataFrame) -> go.Figure:
    grid = segments.pivot_table(
        index="value_tier", columns="risk_tier", values="customers", aggfunc="sum", fill_value=0
    ).reindex(index=list(TIERS), columns=list(TIERS), fill_value=0)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"{t} risk" for t in TIERS],
            y=[f"{t} value" for t in TIERS],
            colorscale="Oranges",
            texttemplate="%{z:,}",
            hovertemplate="%{y}, %{x}: %{z:,} customers<extra></extra>",
            colorbar={"thickness": 12},
            xgap=2,
            ygap=2,
        )
    )
    fig.update_yaxes(autorange="reversed")  # high value on top
    return base_layout(fig)


def audiences(sizes: pd.DataFrame) -> go.Figure:
    """Audience sizes split by preferred channel ('none' = no consent to contact)."""
    order = sizes.groupby("audience")["customers"].sum().sort_values().index.tolist()
    fig = go.Figure()
    for channel in ("email", "sms", "none"):
        rows = sizes[sizes["preferred_channel"] == channel].set_index("audience").reindex(order)
        fig.add_bar(
            y=[a.removeprefix("audience_").replace("_", " ") for a in order],
            x=rows["customers"].fillna(0),
            name=channel,
            orientation="h",
            marker_color=CHANNEL_COLOURS[channel],
            hovertemplate="%{y}: %{x:,}",
        )
    fig.update_layout(barmode="stack", hovermode="y unified")
    fig.update_xaxes(title="customers")
    return base_layout(fig)


def acquisition(channels: pd.DataFrame) -> go.Figure:
    names = [c.replace("_", " ") for c in channels["acquisition_channel"]]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12)
    fig.add_bar(
        x=names,
        y=channels["cac"],
        name="CAC",
        showlegend=False,
        marker_color=SERIES_COLOURS[0],
        hovertemplate=f"%{{x}}: %{{y:{MONEY}}}<extra>CAC</extra>",
        row=1,
        col=1,
    )
    for label, column, colour in (
        ("Formula LTV:CAC", "ltv_to_cac", SERIES_COLOURS[4]),
        ("Historical revenue:CAC", "historical_ltv_to_cac", SERIES_COLOURS[3]),
    ):
        fig.add_bar(
            x=names,
            y=channels[column],
            name=label,
            marker_color=colour,
            hovertemplate="%{x}: %{y:.1f}×",
            row=1,
            col=2,
        )
    fig.add_hline(
        y=LTV_TO_CAC_TARGET,
        line={"color": "#b71c1c", "dash": "dot"},
        annotation_text="3×",
        row=1,
        col=2,
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="CAC (spend per paying customer)", tickformat="~s", row=1, col=1)
    fig.update_yaxes(title="LTV:CAC (×)", row=1, col=2)
    return base_layout(fig, height=400)
