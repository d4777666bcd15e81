"""The report's MRR forecast section, on a hand-made warehouse: report_helpers' small marts plus
hand-made marts.mrr_forecast and marts.mrr_forecast_backtest rows (no pipeline run)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml
from report_helpers import (
    METRICS,
    make_small_warehouse,
    open_in_chromium,
    report_in_currency,
    small_tables,
    write_warehouse,
)

from subscriber_warehouse.report import data as report_data
from subscriber_warehouse.report import render_html, write_report
from subscriber_warehouse.report.forecast_charts import backtest_verdict
from subscriber_warehouse.report.sections import build_sections
from subscriber_warehouse.report.style import INTERVAL_FILLS

ROOT = Path(__file__).resolve().parent.parent
CURRENCY = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"][
    "reporting_currency"
]
# report_helpers.METRICS ends in March 2025 at MRR 1,330: the forecast's origin
ORIGIN = date(2025, 3, 1)
LAST_MRR = 1330.0
SCENARIO_SHIFT = {"base": 0.0, "churn_minus_10pct": 10.0, "new_mrr_plus_10pct": 20.0}
METRIC_SCALE = {"mrr": 1.0, "arr": 12.0, "customers": 0.01}


def month_after(origin: date, months: int) -> date:
    return (pd.Timestamp(origin) + pd.DateOffset(months=months)).date()


def forecast_rows(origin: date = ORIGIN, start: float = LAST_MRR) -> pd.DataFrame:
    """Twelve months ahead of `origin`: the base MRR point grows 50 a month from `start`, the
    80 % interval is ±40 per month ahead and the 95 % one ±70; the scenarios lie 10 and 20 above
    the base; ARR is 12 × MRR and customers a hundredth of it."""
    rows = []
    for metric, scale in METRIC_SCALE.items():
        for scenario, shift in SCENARIO_SHIFT.items():
            for ahead in range(1, 13):
                point = start + 50 * ahead + shift
                rows.append(
                    {
                        "origin_month": origin,
                        "month_start": month_after(origin, ahead),
                        "months_ahead": ahead,
                        "metric": metric,
                        "scenario": scenario,
                        "point": scale * point,
                        "lower_80": scale * (point - 40 * ahead),
                        "upper_80": scale * (point + 40 * ahead),
                        "lower_95": scale * (point - 70 * ahead),
                        "upper_95": scale * (point + 70 * ahead),
                    }
                )
    return pd.DataFrame(rows)


# the forecast of February, a month earlier, kept in the same mart: not what the page draws
FORECAST = pd.concat([forecast_rows(), forecast_rows(date(2025, 2, 1), 99_000.0)])


def backtest(mapes: dict[int, tuple[float, float, float]]) -> pd.DataFrame:
    """Rows of marts.mrr_forecast_backtest from {months ahead: (forecast, last value, linear
    trend) MAPE}; bias and coverage hand-made per horizon, NULL coverage for the baselines."""
    rows = []
    for ahead, by_model in mapes.items():
        for model, mape in zip(
            ("forecast", "last_value", "linear_trend_6m"), by_model, strict=True
        ):
            own = model == "forecast"
            rows.append(
                {
                    "model": model,
                    "months_ahead": ahead,
                    "origins": 24 - ahead,
                    "mape": mape,
                    "bias": -ahead / 1000 if own else ahead / 100,
                    "coverage_80": 0.8 - ahead / 100 if own else None,
                    "coverage_95": 0.95 - ahead / 200 if own else None,
                }
            )
    return pd.DataFrame(rows)


# lower MAPE than both baselines at every horizon
BEATS = backtest(
    {1: (0.02, 0.03, 0.04), 3: (0.03, 0.04, 0.05), 6: (0.04, 0.06, 0.05), 12: (0.07, 0.10, 0.12)}
)
# at 6 months a tie with the last value (no win), at 12 worse than both; better at 1 month
DOES_NOT_BEAT = backtest(
    {1: (0.01, 0.02, 0.03), 3: (0.04, 0.03, 0.05), 6: (0.05, 0.05, 0.08), 12: (0.15, 0.10, 0.12)}
)


def forecast_warehouse(path: Path, backtest_rows: pd.DataFrame | None = BEATS, **tables) -> Path:
    """report_helpers' small warehouse with the forecast marts; None leaves the backtest out."""
    marts = {**small_tables(), "mrr_forecast": FORECAST, **tables}
    if backtest_rows is not None:
        marts["mrr_forecast_backtest"] = backtest_rows
    return write_warehouse(path, marts)


def sections_of(warehouse: Path) -> dict:
    return {s.key: s for s in build_sections(report_data.load(warehouse))}


def traces(figure) -> dict[str, list]:
    """Trace name -> its traces (an interval's upper and lower bound share a name)."""
    found: dict[str, list] = {}
    for trace in figure.data:
        found.setdefault(trace.name, []).append(trace)
    return found


def months(trace) -> list[date]:
    return [pd.Timestamp(x).date() for x in trace.x]


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return forecast_warehouse(tmp_path / "warehouse.duckdb")


def test_the_forecast_section_follows_the_value_section(warehouse):
    sections = sections_of(warehouse)
    keys = list(sections)
    assert keys.index("forecast") == keys.index("value") + 1
    section = sections["forecast"]
    assert section.title == "MRR forecast, next 12 months"
    assert list(section.charts) == ["forecast-mrr", "forecast-backtest"]
    assert section.notices == []
    assert section.charts["forecast-mrr"].title == (
        f"MRR: actual, and forecast for the next 12 months ({CURRENCY})"
    )
    html = write_report(warehouse).read_text(encoding="utf-8")
    assert '<section class="report-section" id="forecast">' in html
    assert '<a href="#forecast">MRR forecast, next 12 months</a>' in html
    assert 'id="chart-forecast-mrr"' in html and 'id="chart-forecast-backtest"' in html
    # the small warehouse's 17 charts and the two of the forecast
    assert html.count("Plotly.newPlot") == 17 + 2


def test_the_chart_draws_the_actuals_then_the_newest_forecast_from_the_last_actual(warehouse):
    figure = sections_of(warehouse)["forecast"].charts["forecast-mrr"].figure
    lines = traces(figure)
    assert list(lines) == [
        "actual MRR",
        "95% interval",
        "80% interval",
        "base forecast",
        "churn 10% lower",
        "new MRR 10% higher",
    ]
    (actual,) = lines["actual MRR"]
    assert list(actual.y) == list(METRICS["mrr_end"])
    (base,) = lines["base forecast"]
    # the March origin's rows, not February's (which start at 99,000), and MRR, not ARR
    ahead = [month_after(ORIGIN, k) for k in range(13)]
    assert months(base) == ahead
    assert list(base.y) == [LAST_MRR] + [LAST_MRR + 50 * k for k in range(1, 13)]
    upper_95, lower_95 = lines["95% interval"]
    upper_80, lower_80 = lines["80% interval"]
    # June 2025, 3 months ahead: point 1,480, 80 % 1,360–1,600, 95 % 1,270–1,690
    june = ahead.index(date(2025, 6, 1))
    assert (upper_95.y[june], lower_95.y[june]) == (1690.0, 1270.0)
    assert (upper_80.y[june], lower_80.y[june]) == (1600.0, 1360.0)
    # every band opens at the last actual month's MRR
    for bound in (upper_95, lower_95, upper_80, lower_80):
        assert months(bound) == ahead and bound.y[0] == LAST_MRR
    assert list(upper_95.y[1:]) == [LAST_MRR + 120 * k for k in range(1, 13)]
    assert list(lower_80.y[1:]) == [LAST_MRR + 10 * k for k in range(1, 13)]
    # the lower bound is filled up to the upper one before it; the 95 % band lighter
    assert (upper_95.fill, lower_95.fill, upper_80.fill, lower_80.fill) == (
        "none",
        "tonexty",
        "none",
        "tonexty",
    )
    assert lower_95.fillcolor == INTERVAL_FILLS[95] and lower_80.fillcolor == INTERVAL_FILLS[80]
    assert INTERVAL_FILLS[95].endswith("0.12)") and INTERVAL_FILLS[80].endswith("0.28)")
    assert [t.showlegend for t in (upper_95, lower_95)] == [False, True]
    for name, shift in (("churn 10% lower", 10.0), ("new MRR 10% higher", 20.0)):
        (scenario,) = lines[name]
        assert scenario.line.dash == "dash"
        assert list(scenario.y) == [LAST_MRR] + [LAST_MRR + 50 * k + shift for k in range(1, 13)]
    assert base.line.dash is None and actual.line.dash is None
    assert figure.layout.yaxis.title.text == f"MRR ({CURRENCY})"
    assert all(f"{CURRENCY} %{{y:,.0f}}" in t.hovertemplate for t in figure.data)


def test_amounts_carry_the_currency_of_the_dbt_project(warehouse, tmp_path, monkeypatch):
    report_in_currency("EUR", tmp_path, monkeypatch)
    section = sections_of(warehouse)["forecast"]
    figure = section.charts["forecast-mrr"].figure
    assert figure.layout.yaxis.title.text == "MRR (EUR)"
    assert section.charts["forecast-mrr"].title.endswith("(EUR)")
    assert all("EUR %{y" in t.hovertemplate for t in figure.data)


def test_the_backtest_table_holds_each_horizon(warehouse):
    figure = sections_of(warehouse)["forecast"].charts["forecast-backtest"].figure
    (table,) = figure.data
    assert list(table.header.values) == [
        "months ahead",
        "origins",
        "MAPE: forecast",
        "MAPE: last value",
        "MAPE: linear trend of the last 6 months",
        "bias",
        "actuals in 80% interval",
        "actuals in 95% interval",
    ]
    # BEATS by horizon 1, 3, 6, 12; the bias and coverage are the forecast's
    assert [list(column) for column in table.cells.values] == [
        ["1", "3", "6", "12"],
        ["23", "21", "18", "12"],
        ["2.0%", "3.0%", "4.0%", "7.0%"],
        ["3.0%", "4.0%", "6.0%", "10.0%"],
        ["4.0%", "5.0%", "5.0%", "12.0%"],
        ["-0.1%", "-0.3%", "-0.6%", "-1.2%"],
        ["79.0%", "77.0%", "74.0%", "68.0%"],
        ["94.5%", "93.5%", "92.0%", "89.0%"],
    ]
    # the lowest MAPE of each horizon is shaded: the forecast's column
    fills = [list(column) for column in table.cells.fill.color]
    assert len({*fills[2]}) == 1 and fills[2][0] != fills[3][0] == fills[4][0] == fills[0][0]


def test_the_lowest_mape_of_a_horizon_is_shaded_whichever_model_has_it(tmp_path):
    warehouse = forecast_warehouse(tmp_path / "warehouse.duckdb", DOES_NOT_BEAT)
    (table,) = sections_of(warehouse)["forecast"].charts["forecast-backtest"].figure.data
    forecast, last_value, trend = (list(c) for c in table.cells.fill.color[2:5])
    shaded = forecast[0]  # 1 month ahead the forecast's is the lowest
    # 3 months: the last value; 6: a tie of the forecast and the last value, the first shaded;
    # 12: the last value
    assert [c == shaded for c in forecast] == [True, False, True, False]
    assert [c == shaded for c in last_value] == [False, True, False, True]
    assert [c == shaded for c in trend] == [False, False, False, False]


FIGURES_OF_BEATS = (
    "at 6 months ahead the forecast beat both baselines (MAPE 4.0% vs 6.0% for the last value "
    "and 5.0% for the linear trend of the last 6 months); at 12 months ahead the forecast beat "
    "both baselines (MAPE 7.0% vs 10.0% for the last value and 12.0% for the linear trend of "
    "the last 6 months)"
)
FIGURES_OF_DOES_NOT_BEAT = (
    "at 6 months ahead the forecast did not beat the last value (MAPE 5.0% vs 5.0% for the "
    "last value and 8.0% for the linear trend of the last 6 months); at 12 months ahead the "
    "forecast did not beat either baseline (MAPE 15.0% vs 10.0% for the last value and 12.0% "
    "for the linear trend of the last 6 months)"
)


@pytest.mark.parametrize(
    ("rows", "sentence"),
    [(BEATS, FIGURES_OF_BEATS), (DOES_NOT_BEAT, FIGURES_OF_DOES_NOT_BEAT)],
    ids=["beats", "does-not-beat"],
)
def test_the_note_says_whether_the_forecast_beat_both_baselines(tmp_path, rows, sentence):
    warehouse = forecast_warehouse(tmp_path / "warehouse.duckdb", rows)
    note = sections_of(warehouse)["forecast"].note
    assert note.endswith(f" In the backtest, {sentence}.")
    html = render_html(report_data.load(warehouse))
    section_html = html.split('<section class="report-section" id="forecast">', 1)[1]
    assert f"In the backtest, {sentence}.</p>" in section_html.split("</section>", 1)[0]
    beaten = "did not beat" not in note
    assert beaten == (rows is BEATS)


def test_a_verdict_without_a_12_month_backtest_says_so():
    six_only = BEATS[BEATS["months_ahead"] != 12]
    assert backtest_verdict(six_only).endswith(
        "; at 12 months ahead there is no backtest to judge the forecast by."
    )
    # a NULL MAPE (no origin with an actual that far ahead) is no backtest either
    no_actuals = BEATS.assign(mape=BEATS["mape"].where(BEATS["months_ahead"] != 6))
    assert backtest_verdict(no_actuals).startswith(
        "In the backtest, at 6 months ahead there is no backtest to judge the forecast by; "
        "at 12 months ahead the forecast beat both baselines"
    )


def test_a_warehouse_without_the_forecast_marts_has_no_forecast_section(tmp_path):
    warehouse = make_small_warehouse(tmp_path / "warehouse.duckdb")
    data = report_data.load(warehouse)
    assert data["mrr_forecast"] is None and data["mrr_forecast_backtest"] is None
    assert "forecast" not in sections_of(warehouse)
    html = write_report(warehouse).read_text(encoding="utf-8")
    assert 'id="forecast"' not in html and "chart-forecast" not in html
    assert "Not in this warehouse yet" not in html
    assert html.count("Plotly.newPlot") == 17


def test_a_business_without_subscriptions_has_no_forecast_section(tmp_path):
    """Its marts are built but empty, the forecast's too: there is no MRR to forecast."""
    tables = {name: frame.head(0) for name, frame in small_tables().items()}
    tables |= {"mrr_forecast": FORECAST.head(0), "mrr_forecast_backtest": BEATS.head(0)}
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb", tables)
    assert "forecast" not in sections_of(warehouse)
    assert 'id="forecast"' not in write_report(warehouse).read_text(encoding="utf-8")


def test_forecast_marts_without_rows_leave_notices(tmp_path):
    warehouse = forecast_warehouse(
        tmp_path / "warehouse.duckdb", BEATS.head(0), mrr_forecast=FORECAST.head(0)
    )
    section = sections_of(warehouse)["forecast"]
    assert section.charts == {}
    assert [n.headline for n in section.notices] == ["No forecast", "No backtest"]
    assert "In the backtest" not in section.note


def test_a_forecast_without_its_backtest_says_the_backtest_is_missing(tmp_path):
    warehouse = forecast_warehouse(tmp_path / "warehouse.duckdb", backtest_rows=None)
    section = sections_of(warehouse)["forecast"]
    assert list(section.charts) == ["forecast-mrr"]
    assert section.missing == ["mrr_forecast_backtest"]
    html = write_report(warehouse).read_text(encoding="utf-8")
    assert "Not in this warehouse yet: <code>marts.mrr_forecast_backtest</code>" in html


@pytest.mark.slow
@pytest.mark.parametrize("width", (1400, 820))
def test_the_forecast_section_draws_in_chromium_without_overlaps(warehouse, tmp_path, width):
    page = open_in_chromium(write_report(warehouse), tmp_path / f"forecast-{width}.png", width)
    assert page.errors == [] and page.requests == []
    drawn = {c["id"]: c for c in page.charts}
    for chart_id in ("chart-forecast-mrr", "chart-forecast-backtest"):
        chart = drawn[chart_id]
        assert chart["drawn"] and chart["traces"] > 0, chart
        assert 200 < chart["width"] <= chart["box"], chart
    assert page.overlaps == []
    assert page.layouts["forecast-mrr"]["titles"]["yaxis"] == f"MRR ({CURRENCY})"
