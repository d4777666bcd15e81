"""Charts of MRR, churn and trials over months, from subscription_metrics_monthly and friends."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from subscriber_warehouse.report import labels
from subscriber_warehouse.report.style import (
    MOVEMENT_COLOURS,
    NEUTRAL,
    PERCENT,
    SERIES_COLOURS,
    base_layout,
    money_hover,
    money_title,
    monthly_axis,
)
from subscriber_warehouse.report.tiles import format_number

# (label, column, sign): contraction and churn are stored as positive magnitudes
MOVEMENTS = (
    ("New", "new_mrr", 1, "new"),
    ("Expansion", "expansion_mrr", 1, "expansion"),
    ("Reactivation", "reactivation_mrr", 1, "reactivation"),
    ("Contraction", "contraction_mrr", -1, "contraction"),
    ("Churned", "churned_mrr", -1, "churned"),
)


def mrr_trend(metrics: pd.DataFrame, currency: str) -> go.Figure:
    """MRR at each month end on the left axis; ARR (12 × MRR) reads off the right one, its range
    twelve times the left's, so one line serves both."""
    top = max(float(metrics["mrr_end"].max()), 1.0) * 1.08
    fig = go.Figure()
    fig.add_scatter(
        x=metrics["month_start"],
        y=metrics["mrr_end"],
        name="MRR",
        mode="lines+markers",
        line={"color": SERIES_COLOURS[0], "width": 2},
        hovertemplate=f"MRR {money_hover(currency)}<extra></extra>",
    )
    # drawn under the MRR line, invisible: it carries ARR to the hover and the right axis
    fig.add_scatter(
        x=metrics["month_start"],
        y=metrics["arr_end"],
        name="ARR",
        yaxis="y2",
        mode="lines",
        line={"width": 0},
        showlegend=False,
        hovertemplate=f"ARR {money_hover(currency)}<extra></extra>",
    )
    fig.update_layout(
        hovermode="x unified",
        showlegend=False,
        yaxis={
            "title": money_title("MRR", currency),
            "tickformat": "~s",
            "range": [0, top],
        },
        yaxis2={
            "title": money_title("ARR = 12 × MRR", currency),
            # ticks synced to the left axis's are 12 × its round numbers, less a rounding error
            "tickmode": "sync",
            "tickformat": ".3~s",
            "range": [0, 12 * top],
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
    )
    fig = monthly_axis(base_layout(fig))
    fig.update_layout(margin={"r": 64})
    return fig


def mrr_movements(metrics: pd.DataFrame, currency: str) -> go.Figure:
    fig = go.Figure()
    for label, column, sign, colour in MOVEMENTS:
        fig.add_bar(
            x=metrics["month_start"],
            y=sign * metrics[column],
            name=label,
            marker_color=MOVEMENT_COLOURS[colour],
            hovertemplate=money_hover(currency),
        )
    net = sum(sign * metrics[column] for _, column, sign, _ in MOVEMENTS)
    fig.add_scatter(
        x=metrics["month_start"],
        y=net,
        name="Net new MRR",
        mode="lines+markers",
        line={"color": "#263238", "width": 2},
        hovertemplate=money_hover(currency),
    )
    fig.update_layout(barmode="relative", hovermode="x unified")
    fig.update_yaxes(tickformat="~s", title=money_title("MRR movement", currency))
    return monthly_axis(base_layout(fig))


def mrr_bridge(metrics: pd.DataFrame, currency: str) -> go.Figure:
    """Waterfall of the as-of month: start, each movement, end (the bridge the tests enforce)."""
    last = metrics.iloc[-1]
    labels = ["MRR start", *(label for label, *_ in MOVEMENTS), "MRR end"]
    values = [last["mrr_start"], *(sign * last[col] for _, col, sign, _ in MOVEMENTS), 0.0]
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=["absolute", *["relative"] * len(MOVEMENTS), "total"],
            text=[format_number(v) for v in values[:-1]] + [format_number(last["mrr_end"])],
            textposition="outside",
            increasing={"marker": {"color": MOVEMENT_COLOURS["new"]}},
            decreasing={"marker": {"color": MOVEMENT_COLOURS["churned"]}},
            totals={"marker": {"color": "#1e88e5"}},
            connector={"line": {"color": NEUTRAL}},
            hovertemplate=f"%{{x}}: {money_hover(currency)}<extra></extra>",
        )
    )
    fig.update_yaxes(tickformat="~s", title=money_title("MRR", currency))
    return base_layout(fig)


def churn_trend(metrics: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    series = (
        ("Logo churn", "logo_churn_rate", "solid"),
        ("Gross MRR churn", "gross_mrr_churn_rate", "solid"),
        ("Net MRR churn", "net_mrr_churn_rate", "dot"),
    )
    for (label, column, dash), colour in zip(series, SERIES_COLOURS, strict=False):
        fig.add_scatter(
            x=metrics["month_start"],
            y=metrics[column],
            name=label,
            mode="lines+markers",
            line={"color": colour, "dash": dash},
            hovertemplate=f"%{{y:{PERCENT}}}",
        )
    fig.update_layout(hovermode="x unified")
    fig.update_yaxes(tickformat=PERCENT, zeroline=True)
    return monthly_axis(base_layout(fig))


def churn_reasons(reasons: pd.DataFrame) -> go.Figure:
    """Churned customers by month and reason; the involuntary reasons drawn in red shades."""
    fig = go.Figure()
    order = (
        reasons.groupby(["churn_type", "churn_reason"])["churned_customers"]
        .sum()
        .reset_index()
        .sort_values(["churn_type", "churned_customers"], ascending=[False, False])
    )
    voluntary = iter(SERIES_COLOURS)
    for churn_type, reason in zip(order["churn_type"], order["churn_reason"], strict=True):
        rows = reasons[(reasons["churn_type"] == churn_type) & (reasons["churn_reason"] == reason)]
        colour = "#b71c1c" if churn_type == "involuntary" else next(voluntary, NEUTRAL)
        fig.add_bar(
            x=rows["month_start"],
            y=rows["churned_customers"],
            name=f"{labels.churn_reason(reason)} ({churn_type})",
            marker_color=colour,
            hovertemplate="%{y:,}",
        )
    fig.update_layout(barmode="stack", hovermode="x unified")
    return monthly_axis(base_layout(fig, height=420))


def voluntary_involuntary(metrics: pd.DataFrame, currency: str) -> go.Figure:
    fig = go.Figure()
    for label, column, colour in (
        ("Voluntary", "voluntary_churned_mrr", "#fb8c00"),
        ("Involuntary (failed payment)", "involuntary_churned_mrr", "#b71c1c"),
    ):
        fig.add_bar(
            x=metrics["month_start"],
            y=metrics[column],
            name=label,
            marker_color=colour,
            hovertemplate=money_hover(currency),
        )
    fig.update_layout(barmode="stack", hovermode="x unified")
    fig.update_yaxes(tickformat="~s", title=money_title("churned MRR", currency))
    return monthly_axis(base_layout(fig))


def trial_conversion(trials: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(
        x=trials["trial_month"],
        y=trials["trials_started"],
        name="Trials started",
        marker_color="#90caf9",
        hovertemplate="%{y:,}",
    )
    fig.add_bar(
        x=trials["trial_month"],
        y=trials["trials_converted"],
        name="Converted",
        marker_color="#1e88e5",
        hovertemplate="%{y:,}",
    )
    fig.add_scatter(
        x=trials["trial_month"],
        y=trials["trial_conversion_rate"],
        name="Conversion rate",
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#2e7d32"},
        hovertemplate=f"%{{y:{PERCENT}}}",
    )
    # the rate's own round ticks (0–100 %), not ticks synced to the counts' gridlines (73 %)
    fig.update_layout(
        barmode="group",
        hovermode="x unified",
        yaxis={"title": "trials"},
        yaxis2={
            "title": "conversion rate",
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "tickmode": "auto",
            "range": [0, 1.02],
            "showgrid": False,
        },
    )
    return monthly_axis(base_layout(fig))
