"""The look shared by every chart: one palette, one layout, one place to change them."""

from __future__ import annotations

import plotly.graph_objects as go

MOVEMENT_COLOURS = {
    "new": "#2e7d32",
    "expansion": "#66bb6a",
    "reactivation": "#26a69a",
    "contraction": "#ffa726",
    "churned": "#e53935",
}
TIER_COLOURS = {"high": "#e53935", "medium": "#ffa726", "low": "#66bb6a"}
SERIES_COLOURS = ("#1e88e5", "#e53935", "#8e24aa", "#fb8c00", "#00897b", "#6d4c41", "#546e7a")
NEUTRAL = "#90a4ae"
FORECAST_LINE = "#0d47a1"  # a darker shade of the actual line's blue: the same series, ahead
# the forecast's intervals in the actual line's blue (SERIES_COLOURS[0]): the wider, less likely
# 95 % band lighter than the 80 % one inside it
INTERVAL_FILLS = {95: "rgba(30, 136, 229, 0.12)", 80: "rgba(30, 136, 229, 0.28)"}
# a retention lift whose 95 % interval lies above zero, spans it, or lies below it
LIFT_COLOURS = {
    "above": MOVEMENT_COLOURS["new"],
    "spans": NEUTRAL,
    "below": MOVEMENT_COLOURS["churned"],
}
# the targetings compared on the held-out campaign: the model in the actual line's blue
TARGETING_COLOURS = {
    "uplift": SERIES_COLOURS[0],
    "churn_risk": TIER_COLOURS["high"],
    "random": NEUTRAL,
}
# the cells of tables drawn as figures (go.Table)
HEADER_FILL, CELL_FILL = "#eef2f6", "#ffffff"

# d3 formats, rendered by plotly.js with its built-in en-US locale on every machine
MONEY = ",.0f"
PERCENT = ".1%"


def money_hover(currency: str, axis: str = "y", decimals: int = 0) -> str:
    """A hover's amount with its currency code: 'USD %{y:,.0f}'."""
    return f"{currency} %{{{axis}:,.{decimals}f}}"


def money_title(what: str, currency: str) -> str:
    """An axis title of amounts: 'MRR (USD)'."""
    return f"{what} ({currency})"


def base_layout(fig: go.Figure, height: int = 380) -> go.Figure:
    """Titles are the page's headings, so a legend of any length never runs into one."""
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 56, "r": 16, "t": 16, "b": 40},
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "title": None},
        hoverlabel={"namelength": -1},
    )
    return fig


def monthly_axis(fig: go.Figure) -> go.Figure:
    """Month-start dates shown as months; hover shows the month, not a midnight timestamp."""
    fig.update_xaxes(tickformat="%b %Y", hoverformat="%b %Y", dtick="M3")
    return fig
