"""How well a score ranks customers by the offer's effect, measured on a randomised campaign.

An uplift score cannot be checked customer by customer (each is seen in one arm only), so it is
judged on groups: target the top of the ranking and compare the treated and the holdout customers
among those targeted. Customers with equal scores are targeted together, so the order a tie
happens to be listed in never changes a figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def uplift_curves(score, treated, outcome) -> pd.DataFrame:
    """One row per distinct score threshold, best scores first, after a row k = 0.

    k: customers targeted so far; n_treated, n_holdout: of them in each arm; retained_treated,
    retained_holdout: of those, still paying. qini = retained_treated − retained_holdout ×
    n_treated / n_holdout (the retained customers the offer added among the treated targeted;
    0 while no holdout customer is targeted). uplift_gain = (retained_treated / n_treated −
    retained_holdout / n_holdout) × k (the same, as a rate applied to all k; 0 while either arm
    is empty).
    """
    score = np.asarray(score, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    retained = np.asarray(outcome, dtype=bool)
    if not len(score) == len(treated) == len(retained) > 0:
        raise ValueError("score, treated and outcome need the same, non-zero length")
    order = np.argsort(-score, kind="stable")
    s, t, y = score[order], treated[order], retained[order]
    # the last position of each run of equal scores: a threshold admits a tie whole
    last = np.flatnonzero(np.append(s[1:] != s[:-1], True))

    def cumulative(flags: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(flags)[last]])

    k = np.concatenate([[0], last + 1])
    n_treated, retained_treated = cumulative(t), cumulative(t & y)
    n_holdout, retained_holdout = k - n_treated, cumulative(~t & y)
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = np.where(
            n_holdout > 0, retained_treated - retained_holdout * n_treated / n_holdout, 0.0
        )
        gain = np.where(
            (n_treated > 0) & (n_holdout > 0),
            (retained_treated / n_treated - retained_holdout / n_holdout) * k,
            0.0,
        )
    return pd.DataFrame(
        {
            "k": k,
            "n_treated": n_treated,
            "n_holdout": n_holdout,
            "retained_treated": retained_treated,
            "retained_holdout": retained_holdout,
            "qini": qini,
            "uplift_gain": gain,
        }
    )


def _share_targeted(curves: pd.DataFrame) -> tuple[np.ndarray, int]:
    n = int(curves["k"].iloc[-1])
    return curves["k"].to_numpy() / n, n


def qini_coefficient(score, treated, outcome) -> float:
    """∫₀¹ (Q(x) − x·Q(1)) dx by trapezoids, x = k/N, Q = qini/N: the area between the score's
    Qini curve and random targeting's straight line, in incremental retained customers per
    customer. 0 = no better than random; negative = worse (it targets those the offer loses)."""
    curves = uplift_curves(score, treated, outcome)
    x, n = _share_targeted(curves)
    q = curves["qini"].to_numpy() / n
    return float(np.trapezoid(q - x * q[-1], x))


def auuc(score, treated, outcome) -> float:
    """∫₀¹ U(x) dx by trapezoids, x = k/N, U = uplift_gain/N: the area under the uplift curve.
    Not net of random targeting, which scores about (overall uplift) / 2."""
    curves = uplift_curves(score, treated, outcome)
    x, n = _share_targeted(curves)
    return float(np.trapezoid(curves["uplift_gain"].to_numpy() / n, x))
