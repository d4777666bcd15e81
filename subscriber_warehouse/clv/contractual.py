"""Contractual CLV from the warehouse: sBG per billing interval on subscription lifetimes.

Each subscription's first paying spell is a lifetime in calendar billing periods
(marts.subscription_lifetimes, a dbt model): a subscription that cancelled after k paid periods
churned at T = k; one still paying at the as-of instant has made n renewals, so T > n
(right-censored). The shifted-beta-geometric model is
fitted per billing interval on all lifetimes at once (a censored likelihood: Fader & Hardie 2007
with cohorts of different ages), and an active subscriber is worth
MRR × months per period × margin × DERL(d, α, β, renewals) (Fader & Hardie 2010).
Simplification: a reactivated subscription keeps the lifetime of its first spell.
"""

from __future__ import annotations

import os

import duckdb
import numpy as np
import pandas as pd
from scipy.special import betaln

from subscriber_warehouse.clv._optim import fit_log_params
from subscriber_warehouse.clv.sbg import discounted_expected_residual_lifetime, survival

MONTH_DAYS = 365.25 / 12
PERIOD_DAYS = {"month": MONTH_DAYS, "year": 365.25, "week": 7.0, "day": 1.0}
MIN_SUBSCRIPTIONS = 50  # a billing interval with fewer lifetimes uses the pooled fit
# When lifetimes show no heterogeneity the MLE runs off to alpha, beta -> infinity at a fixed
# alpha / (alpha + beta) (the geometric limit), where hyp2f1 overflows: cap the sum there.
MAX_CONCENTRATION = 1e4


def censored_log_likelihood(alpha: float, beta: float, periods, churned, weights=None) -> float:
    """Churned at T = periods: log P(T = t); still alive after `periods` renewals: log S(t)."""
    t = np.asarray(periods, dtype=float)
    base = betaln(alpha, beta)
    log_p = betaln(alpha + 1.0, beta + np.maximum(t, 1.0) - 1.0) - base
    log_s = betaln(alpha, beta + t) - base
    terms = np.where(np.asarray(churned, dtype=bool), log_p, log_s)
    return float(np.dot(terms, np.ones_like(t) if weights is None else weights))


def fit_censored(periods, churned) -> tuple[float, float, float]:
    """Maximum-likelihood α, β (and the log-likelihood) from lifetimes, grouped for speed."""
    frame = pd.DataFrame({"t": periods, "c": churned}).value_counts().reset_index()
    # arrays, not columns: the optimiser evaluates the likelihood thousands of times
    t, c, n = (
        frame[name].to_numpy(dtype) for name, dtype in (("t", float), ("c", bool), ("count", float))
    )
    params, ll, _ = fit_log_params(
        lambda p: -censored_log_likelihood(p[0], p[1], t, c, n),
        np.array([1.0, 1.0]),
        np.array([0.5, 3.0]),
    )
    alpha, beta = float(params[0]), float(params[1])
    scale = min(1.0, MAX_CONCENTRATION / (alpha + beta))
    return alpha * scale, beta * scale, float(ll)


def _lifetimes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """marts.subscription_lifetimes (calendar billing periods, dbt): one row per first spell."""
    frame = con.execute("select * from marts.subscription_lifetimes order by subscription_id").df()
    frame["period_days"] = frame["billing_interval"].map(PERIOD_DAYS) * frame["interval_count"]
    frame["periods"] = frame["lifetime_periods"].astype(int)
    frame["churned"] = frame["is_churned"].astype(bool)
    return frame


PREDICTION_COLUMNS = {
    "customer_id": "str",
    "subscription_id": "str",
    "model_segment": "str",
    "mrr": "float64",
    "renewals_made": "int64",
    "expected_residual_lifetime_periods": "float64",
    "predicted_residual_value": "float64",
    "alpha": "float64",
    "beta": "float64",
}
PROJECTION_COLUMNS = {
    "model_segment": "str",
    "period": "int64",
    "subscriptions_at_risk": "int64",
    "observed_survival": "float64",
    "projected_survival": "float64",
}


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    """A business without subscriptions: the tables exist, with no rows."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def predict(con: duckdb.DuckDBPyConnection, annual_discount_rate: float, margin: float):
    """(clv_predictions, retention_projection) DataFrames from the working warehouse."""
    lifetimes = _lifetimes(con)
    if lifetimes.empty:
        return _empty(PREDICTION_COLUMNS), _empty(PROJECTION_COLUMNS)
    counts = lifetimes["segment"].value_counts()
    fits = {"pooled": fit_censored(lifetimes["periods"], lifetimes["churned"])}
    for segment, n in counts.items():
        if n >= MIN_SUBSCRIPTIONS:
            rows = lifetimes[lifetimes["segment"] == segment]
            fits[segment] = fit_censored(rows["periods"], rows["churned"])
    lifetimes["model_segment"] = lifetimes["segment"].where(
        lifetimes["segment"].isin(list(fits)), "pooled"
    )
    return (
        _predictions(lifetimes, fits, annual_discount_rate, margin),
        _projection(lifetimes, fits),
    )


def _predictions(lifetimes, fits, annual_discount_rate, margin) -> pd.DataFrame:
    active = lifetimes[lifetimes["is_paying"].fillna(False)].copy()
    years = active["period_days"] / 365.25
    active["discount_rate_per_period"] = (1 + annual_discount_rate) ** years - 1
    alpha = active["model_segment"].map(lambda s: fits[s][0])
    beta = active["model_segment"].map(lambda s: fits[s][1])
    active["renewals_made"] = active["periods"]
    # one vectorised DERL call per fit and period length (the pooled fit mixes lengths)
    derl = pd.Series(0.0, index=active.index)
    for (segment, _), group in active.groupby(["model_segment", "period_days"]):
        a, b, _ = fits[segment]
        d = group["discount_rate_per_period"].iloc[0]
        derl[group.index] = discounted_expected_residual_lifetime(
            d, a, b, group["renewals_made"].to_numpy()
        )
    active["expected_residual_lifetime_periods"] = derl
    months_per_period = active["period_days"] / MONTH_DAYS
    active["predicted_residual_value"] = (
        active["current_mrr"].astype(float)
        * months_per_period
        * margin
        * active["expected_residual_lifetime_periods"]
    ).round(2)
    active["alpha"], active["beta"] = alpha, beta
    return (
        active[
            [
                "customer_id",
                "subscription_id",
                "model_segment",
                "current_mrr",
                "renewals_made",
                "expected_residual_lifetime_periods",
                "predicted_residual_value",
                "alpha",
                "beta",
            ]
        ]
        .rename(columns={"current_mrr": "mrr"})
        .reset_index(drop=True)
    )


def kaplan_meier(periods, churned, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Observed survival S(t), t = 0..horizon, and subscriptions at risk, from censored lifetimes.

    A churned lifetime T = k is at risk in periods 1..k and churns in k; a live one with n
    renewals is at risk in periods 1..n and survives them (censored after n).
    """
    t = np.asarray(periods)
    churned = np.asarray(churned, dtype=bool)
    survival_, at_risk = [1.0], [len(t)]
    for k in range(1, horizon + 1):
        risk = int(np.sum(t >= k))  # churned at k or later, or censored at k or later
        if risk == 0:
            break
        deaths = int(np.sum(churned & (t == k)))
        survival_.append(survival_[-1] * (1 - deaths / risk))
        at_risk.append(risk)
    return np.array(survival_), np.array(at_risk)


def _projection(lifetimes, fits) -> pd.DataFrame:
    """Observed and fitted survival per model segment, out to its longest observed lifetime."""
    frames = []
    for segment, (alpha, beta, _) in fits.items():
        group = lifetimes if segment == "pooled" else lifetimes[lifetimes["segment"] == segment]
        horizon = int(group["periods"].max())
        observed, at_risk = kaplan_meier(group["periods"], group["churned"], horizon)
        periods = np.arange(len(observed))
        frames.append(
            pd.DataFrame(
                {
                    "model_segment": segment,
                    "period": periods,
                    "subscriptions_at_risk": at_risk,
                    "observed_survival": observed,
                    "projected_survival": survival(periods, alpha, beta),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_predictions(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    predictions, projection = predict(
        con,
        float(os.environ.get("SW_CLV_ANNUAL_DISCOUNT_RATE", "0.10")),
        float(os.environ.get("SW_GROSS_MARGIN", "1.0")),
    )
    con.register("_predictions", predictions)
    con.register("_projection", projection)
    con.execute("create or replace table marts.clv_predictions as select * from _predictions")
    con.execute("create or replace table marts.retention_projection as select * from _projection")
    return {"clv_predictions": len(predictions), "retention_projection": len(projection)}
