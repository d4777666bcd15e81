"""Fit uplift learners — the offer's effect on 90-day retention — and choose one.

uplift(x) = P(retained | treated, x) − P(retained | holdout, x), learned from campaigns whose
arms were drawn at random, on the churn model's inputs (churn.features). Four candidates: a
T-learner (a classifier per arm, uplift = the difference of their predictions) and an
X-learner (Künzel et al. 2019: each arm's outcomes minus the other arm's prediction, regressed
again, the two blended), each on a standardised logistic regression (a linear ridge regression
for the X-learner's second stage) or small gradient-boosted trees. `choose` picks the one with
the highest Qini coefficient on the latest campaign of the rows it is given, fitted on the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from subscriber_warehouse.churn.features import (
    CATEGORICAL_FEATURES,
    Encoding,
    encode,
    fit_encoding,
    trait_columns,
)
from subscriber_warehouse.uplift.evaluation import qini_coefficient

OUTCOME = "is_retained_within_horizon"  # marts.uplift_features
# simplest first: on equal validation Qini the earlier wins (logistic before boosting, then T
# before X)
CANDIDATES = ("t_logistic", "x_logistic", "t_boosting", "x_boosting")
# small trees, slow learning: a campaign's effect is a few points of retention, easily drowned
# by trees fitted to noise. No early stopping, so the fit does not change character at the
# 10,000 rows where scikit-learn's "auto" would turn it on.
BOOSTING = {
    "max_iter": 100,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "early_stopping": False,
    "random_state": 0,
}


def _classifier(base: str, y: np.ndarray):
    if len(np.unique(y)) < 2:
        # an arm where everyone (or no one) stayed: its retention is that constant
        return DummyClassifier(strategy="prior")
    if base == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return HistGradientBoostingClassifier(**BOOSTING)


def _regressor(base: str):
    if base == "logistic":
        # the linear counterpart for imputed effects (numbers in [-1, 1]); the ridge penalty
        # keeps the one-hot levels, which sum to the intercept, from an ill-posed fit
        return make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    return HistGradientBoostingRegressor(**BOOSTING)


def _retention(classifier, inputs: pd.DataFrame) -> np.ndarray:
    p = classifier.predict_proba(inputs)
    classes = list(classifier.classes_)
    return p[:, classes.index(1)] if 1 in classes else np.zeros(len(inputs))


@dataclass(frozen=True)
class Uplift:
    kind: str
    encoding: Encoding
    treated: object  # μ1: P(retained | treated, x)
    holdout: object  # μ0: P(retained | holdout, x)
    # the X-learner's second stage, None for a T-learner: τ1 on treated rows, τ0 on holdout
    effect_treated: object | None
    effect_holdout: object | None
    treated_share: float  # g, the weight of τ0

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        return encode(frame, self.encoding)

    def retention_treated(self, frame: pd.DataFrame) -> np.ndarray:
        return _retention(self.treated, self.inputs(frame))

    def retention_holdout(self, frame: pd.DataFrame) -> np.ndarray:
        return _retention(self.holdout, self.inputs(frame))

    def uplift(self, frame: pd.DataFrame) -> np.ndarray:
        """For an X-learner this is its blended second stage, not the difference of the two
        retentions (those are its first stage)."""
        inputs = self.inputs(frame)
        if self.effect_treated is None:
            return _retention(self.treated, inputs) - _retention(self.holdout, inputs)
        g = self.treated_share
        return g * self.effect_holdout.predict(inputs) + (1 - g) * self.effect_treated.predict(
            inputs
        )


def fit_uplift(frame: pd.DataFrame, treated, retained, kind: str) -> Uplift:
    """`frame`: churn_features-like rows (with traits); `treated`, `retained`: one bool each."""
    if kind not in CANDIDATES:
        raise ValueError(f"unknown uplift learner {kind!r}; one of {CANDIDATES}")
    learner, base = kind.split("_")
    treated = np.asarray(treated, dtype=bool)
    y = np.asarray(retained, dtype=bool).astype(int)
    if treated.all() or not treated.any():
        raise ValueError("an uplift model needs rows in both the treatment and the holdout arm")
    encoding = fit_encoding(frame, [*CATEGORICAL_FEATURES, *trait_columns(frame)])
    inputs = encode(frame, encoding)
    on_treated, on_holdout = inputs[treated], inputs[~treated]
    mu1 = _classifier(base, y[treated]).fit(on_treated, y[treated])
    mu0 = _classifier(base, y[~treated]).fit(on_holdout, y[~treated])
    if learner == "t":
        return Uplift(kind, encoding, mu1, mu0, None, None, float(treated.mean()))
    # imputed individual effects: what each customer's arm did against the other arm's model
    d1 = y[treated] - _retention(mu0, on_treated)
    d0 = _retention(mu1, on_holdout) - y[~treated]
    tau1 = _regressor(base).fit(on_treated, d1)
    tau0 = _regressor(base).fit(on_holdout, d0)
    # g = the propensity, a constant under randomisation. τ0 is only as good as μ1 (fitted on
    # the treated rows) and τ1 as μ0, so each is weighted by the share of the arm behind it
    return Uplift(kind, encoding, mu1, mu0, tau1, tau0, float(treated.mean()))


def _simplest_best(qini: dict[str, float]) -> str:
    return max(CANDIDATES, key=lambda kind: qini[kind])  # max keeps the first of equals


def choose(frame: pd.DataFrame, outcome: str = OUTCOME) -> tuple[str, dict[str, float]]:
    """(the chosen kind, {kind: Qini coefficient on the validation campaign}).

    `frame`: one row per assignment with assigned_at, campaign_id, arm ('treatment' or
    'holdout'), the bool `outcome` and the feature columns. The validation campaign is the
    latest (by its first assignment, then id, as the warehouse orders them); every candidate
    is fitted on the other campaigns' rows.
    """
    first = frame.groupby("campaign_id")["assigned_at"].min()
    if len(first) < 2:
        raise ValueError("choosing a learner needs two campaigns: one to fit, one to validate")
    latest = max(first.index, key=lambda c: (first[c], c))
    is_validation = (frame["campaign_id"] == latest).to_numpy()
    train = frame[~is_validation].reset_index(drop=True)
    validation = frame[is_validation].reset_index(drop=True)

    def arrays(rows: pd.DataFrame):
        return (rows["arm"] == "treatment").to_numpy(), rows[outcome].astype(bool).to_numpy()

    treated, retained = arrays(validation)
    qini = {
        kind: qini_coefficient(
            fit_uplift(train, *arrays(train), kind).uplift(validation), treated, retained
        )
        for kind in CANDIDATES
    }
    return _simplest_best(qini), qini
