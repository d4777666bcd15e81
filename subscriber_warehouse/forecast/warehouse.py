"""Read the forecast's inputs from the working warehouse; write marts.mrr_forecast and
marts.mrr_forecast_backtest."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import yaml

from subscriber_warehouse.dbt_target import PROJECT_ROOT
from subscriber_warehouse.forecast.backtest import backtest_errors, summarise
from subscriber_warehouse.forecast.model import (
    BANDS,
    BASE,
    History,
    Scenario,
    forecast,
    month_start,
)

FORECAST_COLUMNS = {
    "origin_month": "datetime64[us]",
    "month_start": "datetime64[us]",
    "months_ahead": "int64",
    "metric": "str",
    "scenario": "str",
    "point": "float64",
    **{band: "float64" for band in BANDS},
}
BACKTEST_COLUMNS = {
    "model": "str",
    "months_ahead": "int64",
    "origins": "int64",
    "mape": "float64",
    "bias": "float64",
    "coverage_80": "float64",
    "coverage_95": "float64",
}


def settings(project_file: Path = PROJECT_ROOT / "dbt_project.yml") -> tuple[int, int, list]:
    """dbt vars of the project: months ahead, backtest origins, and the scenarios."""
    variables = yaml.safe_load(project_file.read_text(encoding="utf-8"))["vars"]
    scenarios = [
        Scenario(name, float(levers.get("churn", 1.0)), float(levers.get("new_mrr", 1.0)))
        for name, levers in variables["forecast_scenarios"].items()
    ]
    return (
        int(variables["forecast_months"]),
        int(variables["forecast_backtest_origins"]),
        [
            BASE,
            *scenarios,
        ],
    )


def _frame(rows: list[pd.DataFrame], columns: dict[str, str]) -> pd.DataFrame:
    empty = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    return pd.concat([empty, *rows], ignore_index=True)[list(columns)] if rows else empty


def forecast_tables(history: History, months: int, origins: int, scenarios) -> tuple:
    """(mrr_forecast, mrr_forecast_backtest): every scenario from the latest month, and the base
    forecast's backtest from each of the `origins` months before it."""
    if history.subscriptions.empty:
        return _frame([], FORECAST_COLUMNS), _frame([], BACKTEST_COLUMNS)
    origin = int(history.monthly["month"].max())
    rows = []
    for scenario in scenarios:
        frame = forecast(history, origin, months, scenario)
        frame.insert(0, "scenario", scenario.name)
        rows.append(frame)
    forecasts = pd.concat(rows, ignore_index=True)
    forecasts["origin_month"] = month_start(origin)
    forecasts["month_start"] = [month_start(origin + h) for h in forecasts["months_ahead"]]
    first = int(history.subscriptions["month"].min())
    earlier = [o for o in range(origin - origins, origin) if o >= first]
    backtest = summarise(backtest_errors(history, earlier, months))
    return _frame([forecasts], FORECAST_COLUMNS), _frame([backtest], BACKTEST_COLUMNS)


def write_forecast(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    history = History.from_marts(
        con.execute("select * from marts.forecast_subscription_months").df(),
        con.execute("select * from marts.subscription_metrics_monthly").df(),
    )
    forecasts, backtest = forecast_tables(history, *settings())
    con.register("_forecast", forecasts)
    con.register("_backtest", backtest)
    con.execute(
        "create or replace table marts.mrr_forecast as select * replace ("
        "cast(origin_month as date) as origin_month, cast(month_start as date) as month_start, "
        "cast(months_ahead as integer) as months_ahead) from _forecast"
    )
    con.execute(
        "create or replace table marts.mrr_forecast_backtest as select * replace ("
        "cast(months_ahead as integer) as months_ahead, cast(origins as integer) as origins) "
        "from _backtest"
    )
    return {"mrr_forecast": len(forecasts), "mrr_forecast_backtest": len(backtest)}
