"""The MRR forecast after the actuals, and its backtest against naive baselines: from
mrr_forecast, mrr_forecast_backtest and subscription_metrics_monthly."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from subscriber_warehouse.report import labels
from subscriber_warehouse.report.style import (
    CELL_FILL,
    FORECAST_LINE,
    HEADER_FILL,
    INTERVAL_FILLS,
    MOVEMENT_COLOURS,
    SERIES_COLOURS,
    base_layout,
    money_hover,
    money_title,
    monthly_axis,
)
from subscriber_warehouse.report.tiles import format_change, format_rate

# the widest first: a band is filled up to the trace before it, so the 80 % lies on the 95 %
INTERVAL_LEVELS = (95, 80)
SCENARIO_COLOURS = {
    "churn_minus_10pct": SERIES_COLOURS[2],
    "new_mrr_plus_10pct": MOVEMENT_COLOURS["new"],
}
BASELINES = ("last_value", "linear_trend_6m")
# the horizons the sentence judges: a month ahead, the last value is hard to beat by anyone
VERDICT_HORIZONS = (6, 12)
# a light green behind the lowest MAPE of a horizon
BEST_FILL = "#e8f5e9"


def mrr_forecast(metrics: pd.DataFrame, forecast: pd.DataFrame, currency: str) -> go.Figure:
    """Actual MRR by month, then the base forecast with its 95 % and 80 % intervals as bands and
    the what-if scenarios as dashed lines, all starting from the last actual month.

    `forecast` holds the MRR rows of one origin (marts.mrr_forecast, metric 'mrr')."""
    fig = go.Figure()
    fig.add_scatter(
        x=metrics["month_start"],
        y=metrics["mrr_end"],
        name="actual MRR",
        mode="lines+markers",
        line={"color": SERIES_COLOURS[0], "width": 2},
        hovertemplate=f"actual {money_hover(currency)}<extra></extra>",
    )
    base = from_last_actual(forecast[forecast["scenario"] == "base"], metrics)
    for level in INTERVAL_LEVELS:
        _add_interval(fig, base, level, currency)
    fig.add_scatter(
        x=base["month_start"],
        y=base["point"],
        name=labels.forecast_scenario("base"),
        mode="lines",
        line={"color": FORECAST_LINE, "width": 2},
        hovertemplate=f"forecast {money_hover(currency)}<extra></extra>",
    )
    for scenario, colour in SCENARIO_COLOURS.items():
        rows = from_last_actual(forecast[forecast["scenario"] == scenario], metrics)
        if rows.empty:
            continue
        name = labels.forecast_scenario(scenario)
        fig.add_scatter(
            x=rows["month_start"],
            y=rows["point"],
            name=name,
            mode="lines",
            line={"color": colour, "dash": "dash", "width": 1.5},
            hovertemplate=f"{name} {money_hover(currency)}<extra></extra>",
        )
    fig.update_layout(hovermode="x unified")
    fig.update_yaxes(tickformat="~s", rangemode="tozero", title=money_title("MRR", currency))
    fig = monthly_axis(base_layout(fig, height=420))
    # history and forecast together: a tick every quarter runs the labels into each other
    months = len(metrics) + int(forecast["months_ahead"].max())
    return fig.update_xaxes(dtick=f"M{3 * max(1, math.ceil(months / 24))}")


def from_last_actual(rows: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """The rows with the origin month in front, every bound at its actual MRR: the lines and
    bands start where the actual line ends instead of leaving a month's gap after it."""
    if rows.empty:
        return rows
    origin = rows["origin_month"].iloc[0]
    actual = metrics.loc[metrics["month_start"] == origin, "mrr_end"]
    if actual.empty:  # actuals that end elsewhere: the forecast is drawn on its own
        return rows
    value = float(actual.iloc[-1])
    bounds = ("point", "lower_80", "upper_80", "lower_95", "upper_95")
    start = pd.DataFrame([{"month_start": origin, **dict.fromkeys(bounds, value)}])
    # the month as the forecast's own column type, so the two do not mix dates and timestamps
    start["month_start"] = start["month_start"].astype(rows["month_start"].dtype)
    return pd.concat([start, rows[["month_start", *bounds]]], ignore_index=True)


def _add_interval(fig: go.Figure, rows: pd.DataFrame, level: int, currency: str) -> None:
    """The upper bound as an invisible line, then the lower one filled up to it."""
    name = f"{level}% interval"
    for bound, fill in (("upper", "none"), ("lower", "tonexty")):
        fig.add_scatter(
            x=rows["month_start"],
            y=rows[f"{bound}_{level}"],
            name=name,
            legendgroup=name,
            showlegend=bound == "lower",
            mode="lines",
            line={"width": 0},
            fill=fill,
            fillcolor=INTERVAL_FILLS[level],
            hovertemplate=f"{level}% {bound} {money_hover(currency)}<extra></extra>",
        )


def backtest_table(backtest: pd.DataFrame) -> go.Figure:
    """Per horizon: MAPE of the forecast and of each baseline (the lowest shaded), and the
    forecast's bias and interval coverage."""
    rows = _by_horizon(backtest)
    mape_columns = ("forecast", *BASELINES)
    header = [
        "months ahead",
        "origins",
        *(f"MAPE: {labels.forecast_model(model)}" for model in mape_columns),
        "bias",  # the section's note says which sign is an under-forecast
        "actuals in 80% interval",
        "actuals in 95% interval",
    ]
    # a horizon no model has a MAPE at has nothing to shade
    best = rows[list(mape_columns)].dropna(how="all").idxmin(axis=1)
    cells = [
        [str(h) for h in rows.index],
        [_count(n) for n in rows["origins"]],
        *([format_rate(v) for v in rows[model]] for model in mape_columns),
        [_signed_rate(v) for v in rows["bias"]],
        [format_rate(v) for v in rows["coverage_80"]],
        [format_rate(v) for v in rows["coverage_95"]],
    ]
    fills = [
        [BEST_FILL if best.get(h) == column else CELL_FILL for h in rows.index]
        for column in ("", "", *mape_columns, "", "", "")
    ]
    fig = go.Figure(
        go.Table(
            columnwidth=[1, 1, 1.2, 1.2, 1.6, 1, 1.2, 1.2],
            header={"values": header, "fill_color": HEADER_FILL, "align": "left", "height": 44},
            cells={"values": cells, "fill_color": fills, "align": "left", "height": 28},
        )
    )
    fig = base_layout(fig, height=80 + 28 * len(rows))
    fig.update_layout(margin={"l": 8, "r": 8, "t": 8, "b": 8})
    return fig


def _by_horizon(backtest: pd.DataFrame) -> pd.DataFrame:
    """One row per months_ahead: each model's MAPE, with the forecast's origins, bias and
    coverage (the baselines have no interval)."""
    mape = backtest.pivot(index="months_ahead", columns="model", values="mape")
    mape = mape.reindex(columns=["forecast", *BASELINES])
    own = backtest[backtest["model"] == "forecast"].set_index("months_ahead")
    own = own[["origins", "bias", "coverage_80", "coverage_95"]].reindex(mape.index)
    return mape.join(own).sort_index()


def backtest_verdict(backtest: pd.DataFrame) -> str:
    """One sentence on whether the forecast had a lower MAPE than both baselines at 6 and 12
    months ahead, with the three MAPEs it rests on."""
    rows = _by_horizon(backtest)
    clauses = [_horizon_verdict(rows, months) for months in VERDICT_HORIZONS]
    return f"In the backtest, {'; '.join(clauses)}."


def _horizon_verdict(rows: pd.DataFrame, months: int) -> str:
    ahead = f"at {months} months ahead"
    mapes = rows.loc[months, ["forecast", *BASELINES]] if months in rows.index else None
    if mapes is None or mapes.isna().any():
        return f"{ahead} there is no backtest to judge the forecast by"
    forecast = mapes["forecast"]
    # a tie is no reason to prefer the model: beating a baseline is a strictly lower error
    unbeaten = [labels.forecast_model(b) for b in BASELINES if not forecast < mapes[b]]
    figures = (
        f"MAPE {format_rate(forecast)} vs {format_rate(mapes['last_value'])} for the last value "
        f"and {format_rate(mapes['linear_trend_6m'])} for the linear trend of the last 6 months"
    )
    if not unbeaten:
        return f"{ahead} the forecast beat both baselines ({figures})"
    which = "either baseline" if len(unbeaten) == len(BASELINES) else f"the {unbeaten[0]}"
    return f"{ahead} the forecast did not beat {which} ({figures})"


def _count(value: object) -> str:
    return "n/a" if pd.isna(value) else f"{int(value):,}"


def _signed_rate(value: object) -> str:
    return "n/a" if pd.isna(value) else format_change(float(value), "amount")
