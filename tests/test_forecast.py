"""The MRR forecast and its backtest on hand-made businesses (subscriber_warehouse/forecast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from subscriber_warehouse.forecast.backtest import naive_forecasts, summarise
from subscriber_warehouse.forecast.model import (
    History,
    NewBusiness,
    Scenario,
    forecast,
    month_number,
)
from subscriber_warehouse.forecast.warehouse import forecast_tables

COHORT = 4096  # 2**12 subscriptions start every month; half of those paying leave each month
MONTHS = pd.date_range("2024-01-01", periods=12, freq="MS")


def halving_business(mrr: float = 1.0) -> History:
    """Month 0..11: each month COHORT new monthly subscriptions of `mrr` start, and of every
    cohort exactly half of those paying at a month's end pay at the next one: churn 1/2 a month
    at every age, the same for every subscription, and new MRR COHORT × mrr every month."""
    rows = []
    for start, month in enumerate(MONTHS):
        for age in range(len(MONTHS) - start):
            paying = COHORT >> age
            rows.append(
                pd.DataFrame(
                    {
                        "subscription_id": [f"{start}-{i}" for i in range(paying)],
                        "customer_id": [f"c{start}-{i}" for i in range(paying)],
                        "month_start": MONTHS[start + age],
                        "billing_interval": "month",
                        "interval_count": 1,
                        "anchor_at": month + pd.Timedelta(days=9, hours=12),
                        "mrr": mrr,
                    }
                )
            )
    subscriptions = pd.concat(rows, ignore_index=True)
    paying = subscriptions.groupby("month_start")["mrr"].agg(["sum", "count"])
    metrics = pd.DataFrame(
        {
            "month_start": MONTHS,
            "mrr_end": paying["sum"].to_numpy(),
            "customers_end": paying["count"].to_numpy(),
            "new_customers": COHORT,
            "reactivated_customers": 0,
        }
    )
    return History.from_marts(subscriptions, metrics)


ORIGIN = int(month_number([MONTHS[-1]])[0])


def by_hand(months_ahead: int, churn: float = 0.5, new: float = COHORT) -> float:
    """Paying at the origin (sum over cohorts of COHORT / 2**age) × (1 - churn)**h, plus each
    month ahead's new cohort retained for the months after it."""
    paying = sum(COHORT >> age for age in range(len(MONTHS)))
    kept = 1 - churn
    return paying * kept**months_ahead + sum(
        new * kept ** (months_ahead - j) for j in range(1, months_ahead + 1)
    )


@pytest.fixture(scope="module")
def business() -> History:
    return halving_business()


def test_constant_churn_and_new_mrr_give_the_forecast_worked_out_by_hand(business):
    result = forecast(business, ORIGIN, 12).set_index(["metric", "months_ahead"])
    # the sBG fit of a business without heterogeneity stops at alpha + beta = 1e4
    # (MAX_CONCENTRATION), where a renewal at age 12 keeps 0.5 + 0.0006: within 1 %
    for h in (1, 3, 6, 12):
        assert result.loc[("mrr", h), "point"] == pytest.approx(by_hand(h), rel=0.01)
        assert result.loc[("arr", h), "point"] == pytest.approx(12 * by_hand(h), rel=0.01)
        # one subscription per customer, new customers COHORT a month: the same numbers
        assert result.loc[("customers", h), "point"] == pytest.approx(by_hand(h), rel=0.01)


def test_with_nothing_but_renewals_uncertain_the_80_interval_is_the_binomial_one(business):
    """No expansion and a new-MRR trend without residuals: the spread is the paying
    subscriptions' renewals, sum of Bernoulli(1/2) draws: sd = sqrt(n / 4) for n paying."""
    result = forecast(business, ORIGIN, 12).set_index(["metric", "months_ahead"])
    paying = sum(COHORT >> age for age in range(len(MONTHS)))
    kept = 0.5
    sd = np.sqrt(paying * kept * (1 - kept))
    row = result.loc[("mrr", 1)]
    assert row["upper_80"] - row["lower_80"] == pytest.approx(2 * 1.2816 * sd, rel=0.1)
    assert row["upper_95"] - row["lower_95"] == pytest.approx(2 * 1.96 * sd, rel=0.1)
    assert row["lower_95"] <= row["lower_80"] <= row["point"] <= row["upper_80"] <= row["upper_95"]


def test_the_scenarios_move_churn_and_new_mrr(business):
    fewer_churns = forecast(business, ORIGIN, 6, Scenario("churn", churn=0.9))
    more_new = forecast(business, ORIGIN, 6, Scenario("new", new_business=1.1))
    mrr = lambda frame: frame[frame["metric"] == "mrr"].set_index("months_ahead")["point"]  # noqa: E731
    # churn 0.45 instead of 0.5; new MRR 1.1 × COHORT
    assert mrr(fewer_churns)[6] == pytest.approx(by_hand(6, churn=0.45), rel=0.01)
    assert mrr(more_new)[6] == pytest.approx(by_hand(6, new=1.1 * COHORT), rel=0.01)


def test_a_forecast_reads_nothing_after_its_origin(business):
    origin = ORIGIN - 4
    before = forecast(business, origin, 12)
    later = business.subscriptions["month"] > origin
    changed = business.subscriptions.copy()
    changed.loc[later, "mrr"] *= 3  # every later month's MRR changes
    changed = changed.drop(changed[later].index[:100])  # and some later rows go
    monthly = business.monthly.copy()
    monthly.loc[monthly["month"] > origin, ["mrr_end", "new_customers"]] *= 5
    after = forecast(History(changed, monthly), origin, 12)
    pd.testing.assert_frame_equal(before, after)


def test_the_naive_forecasts_are_the_last_value_and_the_six_month_line():
    # months 0..6; the line through months 1..6 (110 ... 310) has slope 40 and 53.33 at month 0
    # (worked out by hand: sum of products 700 over sum of squares 17.5)
    actual = pd.Series([100, 110, 130, 160, 200, 250, 310], index=range(7), dtype=float)
    naive = naive_forecasts(actual, origin=6, horizon=3)
    assert list(naive["last_value"]) == [310, 310, 310]
    assert naive["linear_trend_6m"] == pytest.approx([333.333, 373.333, 413.333], abs=1e-3)


def test_backtest_errors_are_mean_absolute_and_signed_over_the_actual():
    errors = pd.DataFrame(
        [
            # forecast 110 for 100 (+10 %), 180 for 200 (-10 %); intervals hold the first only
            {"origin": 1, "months_ahead": 1, "actual": 100.0, "model": "forecast",
             "point": 110.0, "lower_80": 95.0, "upper_80": 120.0, "lower_95": 90.0,
             "upper_95": 130.0},
            {"origin": 2, "months_ahead": 1, "actual": 200.0, "model": "forecast",
             "point": 180.0, "lower_80": 170.0, "upper_80": 190.0, "lower_95": 160.0,
             "upper_95": 210.0},
            {"origin": 1, "months_ahead": 1, "actual": 100.0, "model": "last_value",
             "point": 75.0},
            {"origin": 1, "months_ahead": 2, "actual": 100.0, "model": "last_value",
             "point": 75.0},
        ]
    )  # fmt: skip
    summary = summarise(errors).set_index(["model", "months_ahead"])
    ours = summary.loc[("forecast", 1)]
    assert ours["origins"] == 2
    assert ours["mape"] == pytest.approx(0.10)
    assert ours["bias"] == pytest.approx(0.0)
    assert ours["coverage_80"] == pytest.approx(0.5)
    assert ours["coverage_95"] == pytest.approx(1.0)
    naive = summary.loc[("last_value", 1)]
    assert naive["mape"] == pytest.approx(0.25) and naive["bias"] == pytest.approx(-0.25)
    assert np.isnan(naive["coverage_80"])
    # a horizon the backtest does not report (2) is left out
    assert ("last_value", 2) not in summary.index


def test_the_tables_hold_every_scenario_and_the_backtest_beats_the_naive_ones(business):
    scenarios = [Scenario("base"), Scenario("churn_minus_10pct", churn=0.9)]
    forecasts, backtest = forecast_tables(business, 12, 6, scenarios)
    assert len(forecasts) == 12 * 3 * 2
    assert forecasts["origin_month"].unique().tolist() == [pd.Timestamp("2024-12-01")]
    assert forecasts["month_start"].max() == pd.Timestamp("2025-12-01")
    # origins 2024-06 .. 2024-11: six forecasts one month ahead; a steady business, known
    # churn: the forecast is within 2 % where the naive ones lag
    mape = backtest.set_index(["model", "months_ahead"])["mape"]
    assert backtest.set_index(["model", "months_ahead"]).loc[("forecast", 1), "origins"] == 6
    assert mape[("forecast", 1)] < 0.02
    assert mape[("forecast", 3)] < mape[("last_value", 3)]


def test_a_business_without_subscriptions_gets_empty_tables():
    empty = History.from_marts(
        pd.DataFrame(
            columns=[
                "subscription_id", "customer_id", "month_start", "billing_interval",
                "interval_count", "anchor_at", "mrr",
            ]
        ),
        pd.DataFrame(
            columns=[
                "month_start", "mrr_end", "customers_end", "new_customers",
                "reactivated_customers",
            ]
        ),
    )  # fmt: skip
    forecasts, backtest = forecast_tables(empty, 12, 12, [Scenario("base")])
    assert forecasts.empty and backtest.empty
    assert "upper_95" in forecasts.columns and "coverage_95" in backtest.columns


def test_with_24_months_a_calendar_month_keeps_its_seasonal_share():
    """New MRR of 100 a month and 200 every December: the centred 12-month average is
    (11 × 100 + 200) / 12 = 108.33 every month, December's index 200 / 108.33 = 1.846 and the
    others' 0.923 (mean 1); the adjusted series is flat at 108.33, so ahead: 100, and 200 in
    December. With 23 months there is no index yet and the line through the last 12 months
    (a December spike at its end) slopes up instead."""

    def series(start: str, months: int) -> tuple[pd.Series, int]:
        numbers = month_number(pd.date_range(start, periods=months, freq="MS"))
        values = [200.0 if number % 12 == 11 else 100.0 for number in numbers]
        return pd.Series(values, index=numbers), int(numbers[-1])

    seasonal = NewBusiness.project(*series("2022-01-01", 36), horizon=12)
    assert seasonal.ahead == pytest.approx([100.0] * 11 + [200.0])
    flat_start = NewBusiness.project(*series("2023-02-01", 23), horizon=12)
    # the least-squares line through 100 × 11 then 200: slope 100 × (11 - 5.5) / 143 = 3.846
    assert np.diff(flat_start.ahead) == pytest.approx([100 * 5.5 / 143] * 11)
