"""Gamma-Gamma model of the average value of a customer's transactions.

Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
Journal of Marketing Research 42(4); Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary
Value". Transaction values z ~ gamma(p, nu) with nu ~ gamma(q, gamma) across customers; fitted on
repeat customers (x > 0) from x and their mean repeat-transaction value m_x. The ``lifetimes``
package calls gamma ``v``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from subscriber_warehouse.clv._optim import fit_log_params


def _repeat(frequency, monetary) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    keep = (x > 0) & (m > 0)
    return x[keep], m[keep]


def log_likelihood_per_customer(p: float, q: float, gamma: float, frequency, monetary):
    """log f(m_x | x; p, q, gamma) for customers with x > 0 and m_x > 0 (others dropped)."""
    x, m = _repeat(frequency, monetary)
    return _ll(p, q, gamma, x, m)


def _ll(p, q, gamma, x, m) -> np.ndarray:
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


def log_likelihood(p, q, gamma, frequency, monetary) -> float:
    return float(log_likelihood_per_customer(p, q, gamma, frequency, monetary).sum())


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    gamma: float
    log_likelihood: float
    customers: int
    converged: bool

    def expected_average_spend(self, frequency, monetary):
        return conditional_expected_average_spend(frequency, monetary, self.p, self.q, self.gamma)


def fit_gamma_gamma(frequency, monetary, x0: tuple[float, float, float] = (1, 1, 1)):
    """Maximum-likelihood p, q, gamma on the repeat customers (x > 0, m_x > 0)."""
    x, m = _repeat(frequency, monetary)
    if x.size == 0:
        raise ValueError("Gamma-Gamma needs at least one customer with a repeat purchase")
    # the likelihood has a long ridge (p -> inf, gamma -> 0); a start scaled to the data's mean
    # spend (population mean = p * gamma / (q - 1)) keeps the optimiser off it
    mean = float(np.mean(m))
    params, ll, ok = fit_log_params(
        lambda v: -float(_ll(v[0], v[1], v[2], x, m).sum()),
        np.asarray(x0, dtype=float),
        np.array([2.0, 3.0, mean]),
        np.array([10.0, 5.0, 0.4 * mean]),
    )
    return GammaGammaFit(
        *(float(v) for v in params), log_likelihood=ll, customers=int(x.size), converged=ok
    )


def conditional_expected_average_spend(frequency, monetary, p, q, gamma) -> np.ndarray:
    """E[Z | x, m_x] = p (gamma + x m_x) / (p x + q - 1): a weighted average of the population
    mean p gamma / (q - 1) and the customer's own m_x (x = 0 gives the population mean)."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    m = np.where(x > 0, m, 0.0)
    return p * (gamma + x * m) / (p * x + q - 1.0)
