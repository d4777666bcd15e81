"""Shared maximum-likelihood driver: minimise a negative log-likelihood over log-parameters."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize


def fit_log_params(
    neg_ll: Callable[[np.ndarray], float], x0: np.ndarray, *more_starts: np.ndarray
) -> tuple[np.ndarray, float, bool]:
    """Minimise ``neg_ll(exp(theta))`` over ``theta`` (unconstrained log-parameters).

    Nelder-Mead gets close robustly; L-BFGS-B then polishes. Extra starting points guard
    against ridges (the best optimum wins). Returns (params, max log-likelihood, success).
    """
    results = [_fit_one(neg_ll, start) for start in (x0, *more_starts)]
    return max(results, key=lambda result: result[1])


def _fit_one(neg_ll: Callable[[np.ndarray], float], x0: np.ndarray):

    def objective(theta: np.ndarray) -> float:
        value = neg_ll(np.exp(theta))
        return float(value) if np.isfinite(value) else 1e300

    start = np.log(np.asarray(x0, dtype=float))
    coarse = minimize(
        objective,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000, "maxfev": 8000},
    )
    fine = minimize(objective, coarse.x, method="L-BFGS-B", options={"ftol": 1e-14, "gtol": 1e-8})
    best = fine if fine.fun <= coarse.fun else coarse
    return np.exp(best.x), -float(best.fun), bool(coarse.success or fine.success)
