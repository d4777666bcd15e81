"""Charts of customers over their lifetime: cohort retention, CLV and projected survival."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from subscriber_warehouse.report import labels
from subscriber_warehouse.report.style import PERCENT, SERIES_COLOURS, base_layout, money_title

CLV_BINS = 40
# a Kaplan–Meier step over a handful of subscriptions swings to 0% on one churn: not drawn
MIN_AT_RISK = 20


def cohort_heatmap(cohorts: pd.DataFrame, column: str) -> go.Figure:
    """Cohorts as rows (oldest on top), months since start as columns, the rate as colour."""
    grid = cohorts.pivot(index="cohort_month", columns="months_since_start", values=column)
    sizes = cohorts.groupby("cohort_month")["cohort_customers"].first().reindex(grid.index)
    rows = [f"{month:%Y-%m} ({size:,})" for month, size in zip(grid.index, sizes, strict=True)]
    top = float(np.nanmax(grid.to_numpy())) if grid.size else 1.0
    # whole percents without the sign: "100%" overflows a cell of a narrow page
    cells = [["" if np.isnan(v) else f"{v * 100:.0f}" for v in row] for row in grid.to_numpy()]
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=list(grid.columns),
            y=rows,
            zmin=0,
            zmax=max(1.0, top),
            colorscale="Blues",
            text=cells,
            texttemplate="%{text}",
            textfont={"size": 9},
            colorbar={"tickformat": ".0%", "thickness": 12},
            hovertemplate="cohort %{y}<br>month %{x}: %{z:.1%}<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="months since first payment", dtick=1)
    return base_layout(fig, height=max(320, 90 + 22 * len(rows)))


def clv_distribution(formula: pd.Series, predicted: pd.Series | None, currency: str) -> go.Figure:
    """Step histograms on shared log-spaced bins: CLV spans cents to six figures.

    Counted here, not by plotly.js, so the page carries ~40 counts, not one value per customer.
    """
    series = [("Formula CLV (MRR × expected lifetime)", formula, SERIES_COLOURS[0])]
    if predicted is not None:
        series.append(("Predicted residual value (sBG)", predicted, SERIES_COLOURS[2]))
    arrays = [(name, s.dropna().to_numpy(dtype=float), colour) for name, s, colour in series]
    # a series with no customers would draw a flat line at zero, as if it had been counted
    arrays = [(name, values, colour) for name, values, colour in arrays if values.size]
    edges = log_bins(np.concatenate([a for _, a, _ in arrays]))
    fig = go.Figure()
    for name, values, colour in arrays:
        counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
        fig.add_scatter(
            x=edges,
            y=[*counts, counts[-1] if counts.size else 0],
            name=name,
            mode="lines",
            line={"color": colour, "shape": "hv", "width": 1.5},
            fill="tozeroy",
            hovertemplate=f"from {currency} %{{x:,.0f}}: %{{y:,}} customers",
        )
    fig.update_layout(hovermode="x unified")
    fig.update_xaxes(
        type="log",
        dtick="D2",  # 2 and 5 between powers of ten: every digit crowds a narrow chart
        title=money_title("value per paying customer, log scale", currency),
    )
    fig.update_yaxes(title="customers")
    return base_layout(fig)


def log_bins(values: np.ndarray, bins: int = CLV_BINS) -> np.ndarray:
    """Edges from the power of ten below the 1st percentile to the largest value.

    A log axis starting at the very smallest value would spend much of its width on a handful
    of customers; those below the first edge are counted in the first bin instead.
    """
    positive = values[values > 0]
    if positive.size == 0:
        return np.array([1.0, 10.0])
    low = 10 ** np.floor(np.log10(np.quantile(positive, 0.01)))
    high = max(float(positive.max()), low * 10)
    return np.geomspace(low, high, bins + 1)


def retention_projection(projection: pd.DataFrame) -> go.Figure:
    """Per billing-interval model: Kaplan–Meier observed survival (dots) vs fitted sBG (dashes),
    over months since the first payment, so a weekly plan's 52 periods span 12 months as a
    yearly plan's one does. The pooled fit (intervals with too few subscriptions for their own)
    counts periods of mixed lengths, which have no place on a months axis: it is left out."""
    fig = go.Figure()
    segments = [s for s in projection["model_segment"].unique() if labels.months_per_period(s)]
    # shortest period first: the legend reads weekly, monthly, every 3 months, yearly
    segments.sort(key=lambda s: (labels.months_per_period(s), s))
    for segment, colour in zip(segments, SERIES_COLOURS * 3, strict=False):
        months = labels.months_per_period(segment)
        name = labels.billing_interval_label(segment)
        rows = projection[projection["model_segment"] == segment]
        observed = rows[rows["subscriptions_at_risk"] >= MIN_AT_RISK]
        fig.add_scatter(
            x=observed["period"] * months,
            y=observed["observed_survival"],
            customdata=np.column_stack([observed["period"], observed["subscriptions_at_risk"]]),
            name=f"{name}, observed",
            legendgroup=segment,
            showlegend=False,
            mode="markers",
            marker={"color": colour, "size": 6},
            hovertemplate=f"{name}, month %{{x:.1f}} (period %{{customdata[0]}}): "
            f"%{{y:{PERCENT}}} observed, %{{customdata[1]:,}} at risk<extra></extra>",
        )
        fig.add_scatter(
            x=rows["period"] * months,
            y=rows["projected_survival"],
            customdata=rows["period"],
            name=name,
            legendgroup=segment,
            mode="lines",
            line={"color": colour, "dash": "dash"},
            hovertemplate=f"{name}, month %{{x:.1f}} (period %{{customdata}}): "
            f"%{{y:{PERCENT}}} projected<extra></extra>",
        )
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02], title="subscriptions surviving")
    fig.update_xaxes(title="months since first payment", rangemode="tozero")
    return base_layout(fig, height=420)
