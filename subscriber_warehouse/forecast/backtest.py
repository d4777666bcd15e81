"""The forecast's backtest: forecasts from earlier origins, each on the data cut at its origin,
against what happened, beside two naive forecasts (docs/metrics.md, MRR forecast backtest)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from subscriber_warehouse.forecast.model import History, forecast

BACKTEST_HORIZONS = (1, 3, 6, 12)
TREND_BASELINE_MONTHS = 6
MODELS = ("forecast", "last_value", "linear_trend_6m")


def naive_forecasts(actual: pd.Series, origin: int, horizon: int) -> dict[str, np.ndarray]:
    """MRR per month ahead 1..horizon: the origin's value, and the least-squares line through the
    last TREND_BASELINE_MONTHS months up to the origin."""
    known = actual[actual.index <= origin].iloc[-TREND_BASELINE_MONTHS:]
    ahead = origin + np.arange(1, horizon + 1)
    if len(known) >= 2:
        slope, intercept = np.polyfit(known.index.to_numpy(float), known.to_numpy(float), 1)
        trend = intercept + slope * ahead
    else:
        trend = np.full(horizon, float(known.iloc[-1]))
    return {"last_value": np.full(horizon, float(known.iloc[-1])), "linear_trend_6m": trend}


def backtest_errors(history: History, origins: list[int], horizon: int = 12) -> pd.DataFrame:
    """One row per origin, month ahead and model with an actual MRR to compare: forecast,
    actual, and for the forecast its intervals."""
    actual = history.monthly.set_index("month")["mrr_end"]
    rows = []
    for origin in origins:
        ours = forecast(history, origin, horizon)
        ours = ours[ours["metric"] == "mrr"].set_index("months_ahead")
        naive = naive_forecasts(actual, origin, horizon)
        for h in range(1, horizon + 1):
            if origin + h not in actual.index or actual[origin + h] <= 0:
                continue
            truth = float(actual[origin + h])
            row = {"origin": origin, "months_ahead": h, "actual": truth}
            rows.append({**row, "model": "forecast", **ours.loc[h].drop("metric").to_dict()})
            for model, values in naive.items():
                rows.append({**row, "model": model, "point": float(values[h - 1])})
    return pd.DataFrame(rows)


def summarise(errors: pd.DataFrame) -> pd.DataFrame:
    """mape and bias (mean absolute and signed error over the actual) and the share of actuals
    inside the 80 % and 95 % intervals, per model and backtest horizon."""
    columns = ["model", "months_ahead", "origins", "mape", "bias", "coverage_80", "coverage_95"]
    if errors.empty:
        return pd.DataFrame(columns=columns)
    frame = errors[errors["months_ahead"].isin(BACKTEST_HORIZONS)].copy()
    relative = (frame["point"] - frame["actual"]) / frame["actual"]
    frame["ape"], frame["pe"] = relative.abs(), relative
    for level in ("80", "95"):
        inside = frame["actual"].between(frame[f"lower_{level}"], frame[f"upper_{level}"])
        frame[f"coverage_{level}"] = inside.astype(float).where(frame[f"lower_{level}"].notna())
    summary = frame.groupby(["model", "months_ahead"], as_index=False).agg(
        origins=("origin", "count"),
        mape=("ape", "mean"),
        bias=("pe", "mean"),
        coverage_80=("coverage_80", "mean"),
        coverage_95=("coverage_95", "mean"),
    )
    summary["model"] = pd.Categorical(summary["model"], MODELS, ordered=True)
    summary = summary.sort_values(["model", "months_ahead"], ignore_index=True)
    summary["model"] = summary["model"].astype(str)
    return summary[columns]
