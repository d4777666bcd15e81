"""A 12-month MRR, ARR and customer forecast from one origin month (docs/metrics.md, MRR forecast).

The forecast reads nothing after its origin month T (`History.cut`):

- existing MRR: every subscription paying at T keeps its MRR while it renews, with the renewal
  probability of a shifted-beta-geometric fit per billing interval on the lifetimes known at T
  (conditional on the periods it has already paid: its cohort age), and grows by the mean net
  expansion rate of the last RATE_MONTHS months (subscriptions paying in both months);
- new MRR (new and reactivated subscriptions' first month) follows the linear trend of the last
  TREND_MONTHS months, times a calendar-month index when SEASONAL_MONTHS months exist, and each
  month's new MRR then renews and expands as a new subscription of the recent mix does;
- customers: P(a customer still pays) = 1 - prod(1 - P(each of its subscriptions renews)), plus
  the trend of new and reactivated customers, retained as new subscriptions are.

Intervals: Monte Carlo over SIMULATIONS paths that resample (bootstrap) the monthly net
expansion rates and the residuals of the new-business trends, with each renewal a Bernoulli draw
(its sum taken as normal). The sBG parameters are not resampled: the intervals leave out their
uncertainty, and the backtest's coverage shows what that costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from subscriber_warehouse.clv.contractual import MIN_SUBSCRIPTIONS, MONTH_DAYS, fit_censored

RATE_MONTHS = 6
TREND_MONTHS = 12
SEASONAL_MONTHS = 24
SIMULATIONS = 1000
BANDS = {"lower_95": 2.5, "lower_80": 10.0, "upper_80": 90.0, "upper_95": 97.5}
# a new subscription starts, on average, half a month before its first month's end
NEW_SUBSCRIPTION_AGE_DAYS = MONTH_DAYS / 2


@dataclass(frozen=True)
class Scenario:
    name: str
    churn: float = 1.0  # multiplies every renewal's churn probability
    new_business: float = 1.0  # multiplies new MRR and new customers


BASE = Scenario("base")


def month_number(dates) -> np.ndarray:
    """Months since year 0: consecutive months are consecutive integers."""
    stamps = pd.DatetimeIndex(pd.to_datetime(dates))
    return (stamps.year * 12 + stamps.month - 1).to_numpy()


def month_start(number: int) -> pd.Timestamp:
    return pd.Timestamp(year=int(number) // 12, month=int(number) % 12 + 1, day=1)


EPOCH_MONTH = 1970 * 12  # month_number of numpy's datetime64 month 0


@dataclass(frozen=True)
class History:
    """The forecast's inputs: subscriptions' paying month ends (marts.forecast_subscription_months)
    in subscription and month order, and the monthly actuals (marts.subscription_metrics_monthly),
    months as month_number. A cut keeps the order, so no forecast sorts again."""

    subscriptions: pd.DataFrame  # subscription, customer, month, mrr, segment, anchor_month,
    # anchor_at, months_per_period, days_per_period
    monthly: pd.DataFrame  # month, mrr_end, customers_end, new_customers (new + reactivated)

    @classmethod
    def from_marts(cls, subscription_months: pd.DataFrame, metrics: pd.DataFrame) -> History:
        rows = subscription_months
        interval, count = rows["billing_interval"], rows["interval_count"].astype(float)
        subscriptions = pd.DataFrame(
            {
                "subscription": pd.factorize(rows["subscription_id"])[0],
                "customer": pd.factorize(rows["customer_id"])[0],
                "month": month_number(rows["month_start"]),
                "mrr": rows["mrr"].astype(float).to_numpy(),
                "segment": (interval + "-" + rows["interval_count"].astype(str)).to_numpy(),
                "anchor_month": month_number(rows["anchor_at"]),
                "anchor_at": pd.to_datetime(rows["anchor_at"]).to_numpy("datetime64[us]"),
                "months_per_period": np.select(
                    [interval == "month", interval == "year"], [count, 12 * count], np.nan
                ),
                "days_per_period": np.select(
                    [interval == "week", interval == "day"], [7 * count, count], np.nan
                ),
            }
        ).sort_values(["subscription", "month"], ignore_index=True)
        monthly = pd.DataFrame(
            {
                "month": month_number(metrics["month_start"]),
                "mrr_end": metrics["mrr_end"].astype(float).to_numpy(),
                "customers_end": metrics["customers_end"].astype(float).to_numpy(),
                "new_customers": (
                    metrics["new_customers"] + metrics["reactivated_customers"]
                ).astype(float),
            }
        ).sort_values("month", ignore_index=True)
        return cls(subscriptions, monthly)

    def cut(self, origin: int) -> History:
        """What was known at the end of month `origin`."""
        return History(
            self.subscriptions[self.subscriptions["month"] <= origin],
            self.monthly[self.monthly["month"] <= origin],
        )


def periods_begun(subscriptions: pd.DataFrame, month) -> np.ndarray:
    """Billing periods begun by the end of `month` (an integer or one per row) since the anchor."""
    month = np.broadcast_to(np.asarray(month), (len(subscriptions),))
    months_per_period = subscriptions["months_per_period"].to_numpy()
    by_month = np.floor((month - subscriptions["anchor_month"].to_numpy()) / months_per_period) + 1
    # the instant the month ends: period j began by then if anchor + j periods < it
    month_end = (month + 1 - EPOCH_MONTH).astype("datetime64[M]").astype("datetime64[us]")
    days = (month_end - subscriptions["anchor_at"].to_numpy()) / np.timedelta64(1, "D")
    by_day = np.ceil(days / subscriptions["days_per_period"].to_numpy())
    begun = np.where(np.isnan(months_per_period), by_day, by_month)
    return np.maximum(begun, 1).astype(int)


def lifetimes(history: History, origin: int) -> pd.DataFrame:
    """One row per subscription known at `origin`: its lifetime for the sBG fit (censored when
    it pays at the origin) and, when it does, its MRR and periods begun."""
    rows = history.subscriptions
    last = rows.groupby("subscription", sort=False).tail(1)
    last = last.set_index("subscription").sort_index()
    paying = last["month"].to_numpy() == origin
    begun = periods_begun(last, np.where(paying, origin, last["month"].to_numpy()))
    return last.assign(
        paying=paying,
        churned=~paying,
        periods_begun=begun,
        lifetime_periods=np.where(paying, begun - 1, begun),
    )


@dataclass(frozen=True)
class RenewalModel:
    """sBG (alpha, beta) per billing segment; 'pooled' for a segment with fewer than
    MIN_SUBSCRIPTIONS lifetimes that have met a renewal (churned, or renewed at least once):
    yearly subscriptions a year old have not, and alone would say nothing about renewing."""

    fits: dict[str, tuple[float, float]]

    @classmethod
    def fit(cls, known: pd.DataFrame) -> RenewalModel:
        fits = {"pooled": fit_censored(known["lifetime_periods"], known["churned"])[:2]}
        for segment, rows in known.groupby("segment"):
            if (rows["churned"] | (rows["lifetime_periods"] >= 1)).sum() >= MIN_SUBSCRIPTIONS:
                fits[segment] = fit_censored(rows["lifetime_periods"], rows["churned"])[:2]
        return cls(fits)

    def params(self, segment: str) -> tuple[float, float]:
        return self.fits.get(segment, self.fits["pooled"])

    def survival(self, segment: str, begun, renewals, churn: float = 1.0) -> np.ndarray:
        """P(renewing the next `renewals` periods | `begun` periods begun and paying), with every
        renewal's churn probability alpha / (alpha + beta + t - 1) times `churn`."""
        alpha, beta = self.params(segment)
        begun, renewals = np.asarray(begun), np.asarray(renewals)
        top = int(np.max(begun + renewals, initial=1))
        t = np.arange(1, top + 1)
        churns = np.minimum(churn * alpha / (alpha + beta + t - 1), 1.0)
        with np.errstate(divide="ignore"):
            log_renew = np.log1p(-churns)
        cumulative = np.concatenate([[0.0], np.cumsum(log_renew)])
        return np.exp(cumulative[begun - 1 + renewals] - cumulative[begun - 1])


def _trend(values: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Least-squares intercept and slope over positions 0..n-1, and the residuals."""
    x = np.arange(len(values), dtype=float)
    if len(values) < 2:
        level = float(values[0]) if len(values) else 0.0
        return level, 0.0, np.zeros(max(len(values), 1))
    slope, intercept = np.polyfit(x, values, 1)
    return float(intercept), float(slope), values - (intercept + slope * x)


@dataclass(frozen=True)
class NewBusiness:
    """A monthly series' trend (last TREND_MONTHS months) projected ahead; once SEASONAL_MONTHS
    months exist, the trend of the seasonally adjusted series, times each month's index."""

    ahead: np.ndarray  # expected value per month ahead (1..H)
    residuals: np.ndarray

    @classmethod
    def project(cls, series: pd.Series, origin: int, horizon: int) -> NewBusiness:
        """`series`: values by month number up to the origin (missing months are 0)."""
        first = int(series.index.min()) if len(series) else origin
        history = series.reindex(np.arange(first, origin + 1), fill_value=0.0).astype(float)
        index = pd.Series(1.0, index=np.arange(12))
        if len(history) >= SEASONAL_MONTHS:
            index = _seasonal_index(history.iloc[-SEASONAL_MONTHS:])
        recent = history.iloc[-TREND_MONTHS:]
        adjusted = recent.to_numpy() / index.reindex(recent.index % 12).to_numpy()
        intercept, slope, residuals = _trend(adjusted)
        steps = np.arange(len(adjusted), len(adjusted) + horizon)
        months_ahead = (origin + np.arange(1, horizon + 1)) % 12
        ahead = np.maximum(intercept + slope * steps, 0.0) * index.reindex(months_ahead).to_numpy()
        return cls(ahead, residuals)


def _seasonal_index(history: pd.Series) -> pd.Series:
    """Per calendar month (0 = January): its mean ratio of actual to the centred 12-month moving
    average (classical decomposition: the average holds every calendar month once, so the
    seasonal months do not tilt the trend), normalised to a mean of 1 over the year."""
    weights = np.r_[0.5, np.ones(11), 0.5] / 12
    centred = np.convolve(history.to_numpy(float), weights, mode="valid")
    actual = history.iloc[6 : 6 + len(centred)]
    ratio = np.divide(actual.to_numpy(), centred, out=np.ones(len(centred)), where=centred > 0)
    by_calendar = pd.Series(ratio).groupby(actual.index.to_numpy() % 12).mean()
    return (by_calendar / by_calendar.mean()).reindex(np.arange(12), fill_value=1.0)


def entering_mrr(subscriptions: pd.DataFrame) -> pd.Series:
    """Per month: MRR of subscriptions paying at its end that did not at the previous month's."""
    previous = subscriptions.groupby("subscription")["month"].shift()
    entering = subscriptions[previous.isna() | (previous != subscriptions["month"] - 1)]
    return entering.groupby("month")["mrr"].sum()


def net_expansion_rates(subscriptions: pd.DataFrame, origin: int) -> np.ndarray:
    """Per month of the last RATE_MONTHS: the MRR change of subscriptions paying at both month
    ends, over their MRR at the first (their churn is in the renewal model)."""
    rows = subscriptions[subscriptions["month"] >= origin - RATE_MONTHS]
    wide = rows.pivot_table(index="subscription", columns="month", values="mrr", aggfunc="sum")
    rates = []
    for month in range(origin - RATE_MONTHS + 1, origin + 1):
        if month in wide and month - 1 in wide:
            both = wide[[month - 1, month]].dropna()
            if both[month - 1].sum() > 0:
                rates.append(both[month].sum() / both[month - 1].sum() - 1)
    return np.array(rates or [0.0])


def forecast(
    history: History,
    origin: int,
    horizon: int = 12,
    scenario: Scenario = BASE,
    simulations: int = SIMULATIONS,
) -> pd.DataFrame:
    """One row per month ahead and metric (mrr, arr, customers): the point forecast and the
    80 % and 95 % intervals. Reads only what `history` knew at the end of `origin`."""
    known = history.cut(origin)
    subs = known.subscriptions
    life = lifetimes(known, origin)
    model = RenewalModel.fit(life)
    paying = life[life["paying"]]
    ahead = np.arange(1, horizon + 1)

    # P(renewing through month T + h) per paying subscription, shape (subscriptions, horizon)
    kept = np.ones((len(paying), horizon))
    for segment, rows in paying.groupby("segment"):
        at = paying.index.get_indexer(rows.index)
        begun = rows["periods_begun"].to_numpy()  # at the origin
        for h in ahead:
            renewals = periods_begun(rows, origin + h) - begun
            kept[at, h - 1] = model.survival(segment, begun, renewals, scenario.churn)
    mrr = paying["mrr"].to_numpy()
    existing_mrr, existing_var = mrr @ kept, (mrr**2) @ (kept * (1 - kept))
    lost = pd.DataFrame(np.log1p(-np.minimum(kept, 1 - 1e-12))).groupby(
        paying["customer"].to_numpy()
    )
    customer_kept = 1 - np.exp(lost.sum().to_numpy())
    existing_customers = customer_kept.sum(axis=0)
    existing_customers_var = (customer_kept * (1 - customer_kept)).sum(axis=0)

    new_kept_mrr, new_kept_count = _new_subscription_survival(
        model, subs, origin, horizon, scenario
    )
    new_mrr = NewBusiness.project(entering_mrr(subs), origin, horizon)
    new_customers = NewBusiness.project(
        known.monthly.set_index("month")["new_customers"], origin, horizon
    )
    rates = net_expansion_rates(subs, origin)

    rng = np.random.default_rng(origin)
    growth_paths = np.cumprod(1 + rng.choice(rates, (simulations, horizon)), axis=1)
    growth_point = np.cumprod(np.full(horizon, 1 + rates.mean()))

    def paths(trend: NewBusiness, draws: int) -> np.ndarray:
        noise = rng.choice(trend.residuals, (draws, horizon)) if draws else 0.0
        return np.maximum(trend.ahead + noise, 0.0) * scenario.new_business

    def cohorts(added: np.ndarray, kept_by_age: np.ndarray, growth: np.ndarray) -> np.ndarray:
        """Value at each month ahead of what each month ahead added: sum over j <= h."""
        added, growth = np.atleast_2d(added), np.atleast_2d(growth)
        total = np.zeros_like(added)
        for j in range(horizon):
            ages = np.arange(horizon - j)
            total[:, j:] += added[:, [j]] * kept_by_age[ages] * growth[:, j:] / growth[:, [j]]
        return total

    z = rng.standard_normal((2, simulations, horizon))
    # the normal stand-in for a sum of renewals must not go below none renewing
    kept_mrr = np.maximum(existing_mrr + np.sqrt(existing_var) * z[0], 0.0)
    mrr_paths = kept_mrr * growth_paths
    mrr_paths += cohorts(paths(new_mrr, simulations), new_kept_mrr, growth_paths)
    mrr_point = (
        existing_mrr * growth_point + cohorts(paths(new_mrr, 0), new_kept_mrr, growth_point)[0]
    )
    customer_paths = np.maximum(existing_customers + np.sqrt(existing_customers_var) * z[1], 0.0)
    customer_paths += cohorts(paths(new_customers, simulations), new_kept_count, np.ones(horizon))
    customer_point = (
        existing_customers + cohorts(paths(new_customers, 0), new_kept_count, np.ones(horizon))[0]
    )

    frames = [
        _bands("mrr", mrr_point, mrr_paths),
        _bands("arr", 12 * mrr_point, 12 * mrr_paths),
        _bands("customers", customer_point, customer_paths),
    ]
    result = pd.concat(frames, ignore_index=True)
    result.insert(0, "months_ahead", np.tile(ahead, len(frames)))
    return result


def _bands(metric: str, point: np.ndarray, paths: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"metric": metric, "point": point})
    for name, percentile in BANDS.items():
        band = np.percentile(paths, percentile, axis=0)
        frame[name] = np.minimum(band, point) if "lower" in name else np.maximum(band, point)
    return frame


def _new_subscription_survival(
    model: RenewalModel, subscriptions: pd.DataFrame, origin: int, horizon: int, scenario
) -> tuple[np.ndarray, np.ndarray]:
    """P(a new subscription still pays m months after its first month end), m = 0..H-1, mixed
    over the segments of the last RATE_MONTHS months' new subscriptions: by MRR and by count."""
    first = subscriptions.groupby("subscription").head(1)
    recent = first[first["month"] > origin - RATE_MONTHS]
    recent = recent if len(recent) else first
    ages = np.arange(horizon)
    by_mrr, by_count = np.zeros(horizon), np.zeros(horizon)
    if recent.empty:
        return np.ones(horizon), np.ones(horizon)
    for segment, rows in recent.groupby("segment"):
        months, days = rows["months_per_period"].iloc[0], rows["days_per_period"].iloc[0]
        if pd.notna(months):
            begun, renewals = np.ones(horizon, int), np.floor(ages / months).astype(int)
        else:
            age_days = NEW_SUBSCRIPTION_AGE_DAYS + ages * MONTH_DAYS
            begun_then = np.ceil(age_days / days).astype(int)
            begun = np.full(horizon, begun_then[0])
            renewals = begun_then - begun_then[0]
        kept = model.survival(segment, begun, renewals, scenario.churn)
        by_mrr += kept * rows["mrr"].sum() / recent["mrr"].sum()
        by_count += kept * len(rows) / len(recent)
    return by_mrr, by_count
