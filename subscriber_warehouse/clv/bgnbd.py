"""BG/NBD model of repeat purchasing in a non-contractual setting.

Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2). Notation: for each customer ``x`` repeat purchases
(frequency), ``t_x`` time of the last repeat purchase (recency) and ``T`` age, all measured from
the first purchase in periods. Transaction rate lambda ~ gamma(r, alpha); after each purchase the
customer drops out with probability p ~ beta(a, b).
Everything is vectorised over customers (numpy arrays; no Python loop per customer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

from subscriber_warehouse.clv._optim import fit_log_params


def _arrays(frequency, recency, age) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    big_t = np.asarray(age, dtype=float)
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > big_t + 1e-9):
        raise ValueError("need frequency >= 0 and 0 <= recency <= T")
    return x, t_x, big_t


def log_likelihood_per_customer(
    r: float, alpha: float, a: float, b: float, frequency, recency, age
) -> np.ndarray:
    """Individual log-likelihoods, eq. (6) of Fader, Hardie & Lee (2005)::

    L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))
    """
    x, t_x, big_t = _arrays(frequency, recency, age)
    return _ll(r, alpha, a, b, x, t_x, big_t)


def _ll(r, alpha, a, b, x, t_x, big_t) -> np.ndarray:
    repeat = x > 0
    base = betaln(a, b)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    term_alive = betaln(a, b + x) - base - (r + x) * np.log(alpha + big_t)
    # for x = 0 the second term is absent; keep its arguments valid so nothing warns
    b_shift = np.where(repeat, b + x - 1.0, 1.0)
    term_dropped = betaln(a + 1.0, b_shift) - base - (r + x) * np.log(alpha + t_x)
    return common + np.where(repeat, np.logaddexp(term_alive, term_dropped), term_alive)


def log_likelihood(r, alpha, a, b, frequency, recency, age, weights=None) -> float:
    """Total log-likelihood (optionally with per-row ``weights`` for de-duplicated rows)."""
    ll = log_likelihood_per_customer(r, alpha, a, b, frequency, recency, age)
    return float(ll.sum() if weights is None else np.dot(np.asarray(weights, dtype=float), ll))


@dataclass(frozen=True)
class BGNBDFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    converged: bool

    def expected_purchases(self, t, frequency, recency, age):
        return conditional_expected_purchases(
            t, frequency, recency, age, self.r, self.alpha, self.a, self.b
        )

    def probability_alive(self, frequency, recency, age):
        return probability_alive(frequency, recency, age, self.r, self.alpha, self.a, self.b)


def fit_bgnbd(
    frequency, recency, age, weights=None, x0: tuple[float, float, float, float] = (1, 1, 1, 1)
) -> BGNBDFit:
    """Maximum-likelihood r, alpha, a, b (optimised on log-parameters)."""
    x, t_x, big_t = _arrays(frequency, recency, age)
    w = None if weights is None else np.asarray(weights, dtype=float)
    # compress identical (x, t_x, T) rows: same likelihood, fewer evaluations
    if w is None:
        rows, counts = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_counts=True)
        x, t_x, big_t, w = rows[:, 0], rows[:, 1], rows[:, 2], counts.astype(float)

    def neg_ll(p: np.ndarray) -> float:
        return -float(np.dot(w, _ll(p[0], p[1], p[2], p[3], x, t_x, big_t)))

    params, ll, ok = fit_log_params(neg_ll, np.asarray(x0, dtype=float))
    return BGNBDFit(*(float(v) for v in params), log_likelihood=ll, converged=ok)


def _log_dropout_odds(x, t_x, big_t, r, alpha, a, b) -> np.ndarray:
    """log of  a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)  (only meaningful for x > 0)."""
    b_shift = np.where(x > 0, b + x - 1.0, 1.0)
    return np.log(a) - np.log(b_shift) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))


def probability_alive(frequency, recency, age, r, alpha, a, b) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))."""
    x, t_x, big_t = _arrays(frequency, recency, age)
    odds = np.where(x > 0, np.exp(_log_dropout_odds(x, t_x, big_t, r, alpha, a, b)), 0.0)
    return 1.0 / (1.0 + odds)


def conditional_expected_purchases(t, frequency, recency, age, r, alpha, a, b) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T + t], eq. (10) of the paper."""
    x, t_x, big_t = _arrays(frequency, recency, age)
    t = np.asarray(t, dtype=float)
    head = (a + b + x - 1.0) / (a - 1.0)
    z = t / (alpha + big_t + t)
    tail = np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t)))
    numer = head * (1.0 - tail * hyp2f1(r + x, b + x, a + b + x - 1.0, z))
    odds = np.where(x > 0, np.exp(_log_dropout_odds(x, t_x, big_t, r, alpha, a, b)), 0.0)
    return numer / (1.0 + odds)


def expected_purchases(t, r, alpha, a, b) -> np.ndarray:
    """E[X(t)]: expected purchases in (0, t] for a customer just acquired at time 0."""
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    return (
        (a + b - 1.0)
        / (a - 1.0)
        * (1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1.0, z))
    )
