"""Charts of who to act on: churn-risk tiers, value × risk segments, audiences, acquisition."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from subscriber_warehouse.report import labels
from subscriber_warehouse.report.style import (
    NEUTRAL,
    SERIES_COLOURS,
    TIER_COLOURS,
    base_layout,
    money_hover,
    money_title,
)

TIERS = ("high", "medium", "low")
CHANNEL_COLOURS = {"email": "#1e88e5", "sms": "#8e24aa", "none": NEUTRAL}
# the probability histogram's bins; its axis ends at the tenth above the highest score
PROBABILITY_BIN = 0.025
# the common rule of thumb: a customer should return at least three times what acquiring cost
LTV_TO_CAC_TARGET = 3.0


def tier_ranges(tiers: pd.DataFrame) -> dict[str, str]:
    """tier -> the range of churn probability its customers were scored in, e.g. '17.1–49.6%'.

    Tiers are cut by rank (top 10 % high, next 20 % medium), not at fixed probabilities, so the
    ranges are read off the scores and move from run to run."""
    by_tier = tiers.set_index("risk_tier")
    ranges = {}
    for tier in TIERS:
        if tier not in by_tier.index or not by_tier.loc[tier, "customers"]:
            ranges[tier] = "none scored"
            continue
        low, high = by_tier.loc[tier, ["lowest_probability", "highest_probability"]]
        ranges[tier] = f"{low * 100:.1f}–{high:.1%}"
    return ranges


def risk_tiers(tiers: pd.DataFrame) -> go.Figure:
    by_tier = tiers.set_index("risk_tier").reindex(TIERS)
    ranges = tier_ranges(tiers)
    fig = go.Figure(
        go.Bar(
            x=[f"{t.title()}<br>p {ranges[t]}" for t in TIERS],
            y=by_tier["customers"].fillna(0),
            marker_color=[TIER_COLOURS[t] for t in TIERS],
            customdata=by_tier["avg_probability"],
            text=[f"{int(n):,}" for n in by_tier["customers"].fillna(0)],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:,} customers<br>mean churn probability "
            "%{customdata:.1%}<extra></extra>",
        )
    )
    fig.update_yaxes(title="customers", rangemode="tozero")
    fig.update_xaxes(title="risk tier, by churn probability (p) range")
    return base_layout(fig)


def risk_probabilities(scores: pd.DataFrame, tiers: pd.DataFrame) -> go.Figure:
    """A histogram stacked by tier: where each tier's probabilities lie, and where they meet."""
    probability = scores["churn_probability"].dropna()
    top = float(probability.max()) if len(probability) else 1.0
    # ceil on a rounded value: 0.3 * 10 is 3.0000000000000004 in floating point
    upper = min(1.0, max(0.1, math.ceil(round(top * 10, 9)) / 10))
    edges = np.linspace(0.0, upper, round(upper / PROBABILITY_BIN) + 1)
    ranges = tier_ranges(tiers)
    fig = go.Figure()
    for tier in TIERS:
        counts, _ = np.histogram(
            scores.loc[scores["risk_tier"] == tier, "churn_probability"].dropna(), bins=edges
        )
        fig.add_bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=edges[1] - edges[0],
            customdata=np.column_stack([edges[:-1], edges[1:]]),
            name=f"{tier} risk (p {ranges[tier]})",
            marker_color=TIER_COLOURS[tier],
            hovertemplate="p %{customdata[0]:.1%}–%{customdata[1]:.1%}: %{y:,} customers"
            f"<extra>{tier} risk</extra>",
        )
    fig.update_layout(barmode="stack", legend={"traceorder": "normal"})
    fig.update_xaxes(title="predicted churn probability", tickformat=".0%", range=[0, upper])
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
    """Audience sizes split by preferred channel ('no consent': may not be contacted)."""
    order = sizes.groupby("audience")["customers"].sum().sort_values().index.tolist()
    fig = go.Figure()
    for channel in ("email", "sms", "none"):
        rows = sizes[sizes["preferred_channel"] == channel].set_index("audience").reindex(order)
        fig.add_bar(
            y=[labels.audience(a) for a in order],
            x=rows["customers"].fillna(0),
            name=labels.preferred_channel(channel),
            orientation="h",
            marker_color=CHANNEL_COLOURS[channel],
            hovertemplate="%{y}: %{x:,}",
        )
    # the legend in the bars' left-to-right order, not plotly's reversed one for stacks
    fig.update_layout(barmode="stack", hovermode="y unified", legend={"traceorder": "normal"})
    fig.update_xaxes(title="customers")
    return base_layout(fig)


def channel_height(channels: pd.DataFrame) -> int:
    return max(280, 130 + 56 * len(channels))


def acquisition_cac(channels: pd.DataFrame, currency: str) -> go.Figure:
    """CAC per channel as horizontal bars: channel names as y labels never run into each other."""
    names = [labels.words(c) for c in channels["acquisition_channel"]]
    fig = go.Figure(
        go.Bar(
            y=names,
            x=channels["cac"],
            orientation="h",
            marker_color=SERIES_COLOURS[0],
            customdata=np.column_stack([channels["paying_customers"], channels["spend"]]),
            text=[f"{currency} {v:,.0f}" for v in channels["cac"].fillna(0)],
            textposition="auto",
            hovertemplate=f"%{{y}}: {money_hover(currency, 'x')} per paying customer<br>"
            f"{currency} %{{customdata[1]:,.0f}} spent, %{{customdata[0]:,}} paying customers"
            "<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")  # the first channel on top
    fig.update_xaxes(title=money_title("CAC: spend per paying customer", currency))
    return base_layout(fig, height=channel_height(channels))


def acquisition_ltv_to_cac(channels: pd.DataFrame, currency: str) -> go.Figure:
    """Each channel's own formula LTV over its CAC, beside the net revenue paid so far over CAC,
    against the 3× rule of thumb; the legend is this chart's alone."""
    names = [labels.words(c) for c in channels["acquisition_channel"]]
    fig = go.Figure()
    if "ltv_to_cac" in channels and channels["ltv_to_cac"].notna().any():
        fig.add_bar(
            y=names,
            x=channels["ltv_to_cac"],
            name="LTV:CAC (the channel's own formula LTV)",
            orientation="h",
            marker_color=SERIES_COLOURS[4],
            customdata=np.column_stack([channels["channel_ltv"], channels["cac"]]),
            hovertemplate=f"%{{y}}: %{{x:.1f}}× = LTV {currency} %{{customdata[0]:,.0f}} / "
            f"CAC {currency} %{{customdata[1]:,.0f}}<extra></extra>",
        )
    fig.add_bar(
        y=names,
        x=channels["historical_ltv_to_cac"],
        name="Net revenue paid so far:CAC",
        orientation="h",
        marker_color=SERIES_COLOURS[3],
        hovertemplate="%{y}: %{x:.1f}× (net revenue per paying customer to date / CAC)"
        "<extra></extra>",
    )
    # named in the axis title: a label on the line would sit on a channel's bars
    fig.add_vline(x=LTV_TO_CAC_TARGET, line={"color": "#b71c1c", "dash": "dot"})
    fig.update_layout(barmode="group", legend={"traceorder": "normal"})
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="× CAC (red dots: the 3× rule of thumb)", rangemode="tozero")
    return base_layout(fig, height=channel_height(channels))
