"""Shifted-beta-geometric (sBG) model of contractual retention.

Fader & Hardie (2007), "How to Project Customer Retention", Journal of Interactive Marketing
21(1); Fader & Hardie (2010), "Customer-Base Valuation in a Contractual Setting: The Perils of
Ignoring Heterogeneity", Marketing Science 29(1).

Each customer renews at the end of every period with a constant probability ``1 - theta``;
``theta`` is beta(alpha, beta) distributed across customers. With ``T`` the period in which a
customer churns (t = 1, 2, ...)::

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)
    S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)          (S(0) = 1)

A cohort's survivor counts ``n(0), n(1), ..., n(T)`` are counts of customers who have made
``0, 1, ..., T`` renewals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, hyp2f1

from subscriber_warehouse.clv._optim import fit_log_params


def _as_survivors(survivors) -> np.ndarray:
    counts = np.asarray(survivors, dtype=float)
    if counts.ndim != 1 or counts.size < 2:
        raise ValueError("survivors must be a 1-D sequence n(0), n(1), ... with at least 2 values")
    if np.any(counts < 0) or np.any(np.diff(counts) > 0) or counts[0] <= 0:
        raise ValueError("survivors must be positive at t=0 and non-increasing")
    return counts


def churn_probability(t, alpha: float, beta: float) -> np.ndarray:
    """P(T = t) for t >= 1: probability of churning at the end of period t."""
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(alpha + 1.0, beta + t - 1.0) - betaln(alpha, beta))


def survival(t, alpha: float, beta: float) -> np.ndarray:
    """S(t) = P(T > t): probability of having made at least t renewals (S(0) = 1)."""
    t = np.asarray(t, dtype=float)
    return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))


def log_likelihood(alpha: float, beta: float, survivors) -> float:
    """Cohort log-likelihood from survivor counts (vectorised over periods).

    ``sum_t (n(t-1) - n(t)) * log P(T = t)  +  n(T) * log S(T)``.
    """
    counts = _as_survivors(survivors)
    horizon = counts.size - 1
    t = np.arange(1, horizon + 1, dtype=float)
    churners = counts[:-1] - counts[1:]
    base = betaln(alpha, beta)
    log_p = betaln(alpha + 1.0, beta + t - 1.0) - base
    log_s_end = betaln(alpha, beta + horizon) - base
    return float(np.dot(churners, log_p) + counts[-1] * log_s_end)


@dataclass(frozen=True)
class SBGFit:
    alpha: float
    beta: float
    log_likelihood: float
    n0: float
    converged: bool

    def projected_survivors(self, horizon: int) -> np.ndarray:
        """Expected survivor counts n0 * S(t) for t = 0, 1, ..., horizon - 1."""
        return self.n0 * survival(np.arange(horizon), self.alpha, self.beta)

    def retention_rates(self, horizon: int) -> np.ndarray:
        """r(t) = S(t) / S(t-1) for t = 1..horizon (rises over time through sorting)."""
        s = survival(np.arange(horizon + 1), self.alpha, self.beta)
        return s[1:] / s[:-1]

    def del_(self, discount_rate: float) -> float:
        return discounted_expected_lifetime(discount_rate, self.alpha, self.beta)

    def derl(self, discount_rate: float, renewals):
        return discounted_expected_residual_lifetime(discount_rate, self.alpha, self.beta, renewals)


def fit_sbg(survivors, x0: tuple[float, float] = (1.0, 1.0)) -> SBGFit:
    """Maximum-likelihood alpha, beta from a cohort's survivor counts (optimised on logs)."""
    counts = _as_survivors(survivors)
    params, ll, ok = fit_log_params(lambda p: -log_likelihood(p[0], p[1], counts), np.array(x0))
    return SBGFit(float(params[0]), float(params[1]), ll, float(counts[0]), ok)


def _discount_factor(discount_rate: float) -> float:
    if not discount_rate > 0:
        raise ValueError("discount_rate must be > 0 (the sums diverge or converge slowly at 0)")
    return 1.0 / (1.0 + discount_rate)


def discounted_expected_lifetime(discount_rate: float, alpha: float, beta: float) -> float:
    """DEL: expected discounted lifetime (in periods' payments) of a just-acquired customer.

    ``DEL = sum_{t>=0} S(t) / (1+d)^t = 2F1(1, beta; alpha + beta; 1/(1+d))`` — the first
    period's payment is certain and undiscounted (Fader & Hardie 2010).
    """
    z = _discount_factor(discount_rate)
    return float(hyp2f1(1.0, beta, alpha + beta, z))


def discounted_expected_residual_lifetime(
    discount_rate: float, alpha: float, beta: float, renewals
):
    """DERL for an active customer who has made ``renewals`` renewals (so T > renewals).

    Valued just before their next renewal decision: the next payment counts only if they renew
    and is not discounted; later ones are discounted one period each::

        DERL = sum_{t > n} S(t) / S(n) / (1+d)^(t-n-1)
             = B(alpha, beta+n+1) / B(alpha, beta+n) * 2F1(1, beta+n+1; alpha+beta+n+1; 1/(1+d))

    with ``n = renewals``. This is Fader & Hardie (2010), eq. (6), whose argument ``n`` is the
    period the customer is in ("has made n-1 renewals"): paper-n = renewals + 1.
    Consistency: ``DEL = 1 + DERL(n=0) / (1+d)``. Vectorised over ``renewals``.
    """
    z = _discount_factor(discount_rate)
    n = np.asarray(renewals, dtype=float)
    if np.any(n < 0):
        raise ValueError("renewals must be >= 0")
    ratio = np.exp(betaln(alpha, beta + n + 1.0) - betaln(alpha, beta + n))
    value = ratio * hyp2f1(1.0, beta + n + 1.0, alpha + beta + n + 1.0, z)
    return float(value) if value.ndim == 0 else value
