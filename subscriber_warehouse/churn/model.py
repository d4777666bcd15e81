"""Fit, backtest and explain the churn-risk model.

Protocol (time-honest): each labelled cutoff's features use only the past, its label the
following horizon. The backtest scores the latest cutoff that holds enough labelled churners,
trained on the earlier cutoffs (whose horizons ended by it) when they hold enough churners too
(`time_split`); when only one cutoff does — a snapshot-style history where all churn is recent —
it is a stratified cross-validation on that cutoff (`cross_validation`). The production model
trains on every labelled cutoff and scores the as-of instant. Two models are backtested beside
it, fitted the same way: one without customer traits, and tenure alone (the baseline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from subscriber_warehouse.churn.features import (
    CATEGORICAL_FEATURES,
    Encoding,
    describe,
    encode,
    fit_encoding,
    trait_columns,
)

LABEL = "is_churned_within_horizon"
# a cutoff holds enough history for an honest model with at least this many labelled
# subscribers and churners among them (docs/metrics.md, Churn risk)
MIN_LABELLED = 100
MIN_CHURNED = 10
CV_FOLDS = 5
TOP_FACTORS = 3
# tiers by rank, so campaign sizes stay stable from run to run: top 10% high, next 20% medium
TIER_SHARES = (("high", 0.10), ("medium", 0.30))


class NotEnoughHistory(ValueError):
    """The warehouse does not yet hold the labelled churners the backtest and the model need."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    categorical: Callable[[pd.DataFrame], list[str]]  # the columns it one-hot encodes
    inputs: list[str] | None = None  # a subset of the encoded inputs; None = all


MODEL = ModelSpec("churn_risk", lambda f: [*CATEGORICAL_FEATURES, *trait_columns(f)])
COMPARED = [
    ModelSpec("without_traits", lambda f: list(CATEGORICAL_FEATURES)),
    ModelSpec("tenure_baseline", lambda f: [], ["log_tenure_days"]),
]


@dataclass(frozen=True)
class Fitted:
    spec: ModelSpec
    encoding: Encoding
    pipeline: object
    columns: list[str]

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        return encode(frame, self.encoding)[self.columns]

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(self.inputs(frame))[:, 1]


def fit(spec: ModelSpec, train: pd.DataFrame) -> Fitted:
    encoding = fit_encoding(train, spec.categorical(train))
    inputs = encode(train, encoding)
    columns = spec.inputs or list(inputs.columns)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pipeline.fit(inputs[columns], train[LABEL].astype(int))
    return Fitted(spec, encoding, pipeline, columns)


@dataclass(frozen=True)
class Backtest:
    method: str  # time_split | cross_validation
    test_k: int
    train_ks: list[int]


def _churned(rows: pd.DataFrame) -> int:
    return int(rows[LABEL].astype(bool).sum())


def _enough(rows: pd.DataFrame) -> bool:
    churned = _churned(rows)
    return len(rows) >= MIN_LABELLED and MIN_CHURNED <= churned < len(rows)


def plan_backtest(labelled: pd.DataFrame) -> Backtest:
    """The latest cutoff with enough labelled churners is the test; the cutoffs before it train
    when together they have enough, else that cutoff is cross-validated."""
    by_cutoff = dict(tuple(labelled.groupby("cutoffs_before_as_of")))
    usable = sorted(k for k, rows in by_cutoff.items() if _enough(rows))
    for test_k in usable:
        earlier = [k for k in by_cutoff if k > test_k]
        if earlier and _enough(pd.concat([by_cutoff[k] for k in earlier])):
            return Backtest("time_split", test_k, sorted(earlier))
    if usable:
        rows = by_cutoff[usable[0]]
        if _churned(rows) >= CV_FOLDS and len(rows) - _churned(rows) >= CV_FOLDS:
            return Backtest("cross_validation", usable[0], [usable[0]])
    best = max((_churned(r) for r in by_cutoff.values()), default=0)
    raise NotEnoughHistory(
        f"no labelled cutoff holds {MIN_CHURNED} churned of at least {MIN_LABELLED} labelled "
        f"subscribers (the most at one cutoff: {best} churned): too little churn history for "
        "a churn model"
    )


@dataclass(frozen=True)
class Evaluation:
    model: str
    method: str
    train_cutoffs: list[str]
    test_cutoff: str
    auc: float
    precision_at_top_decile: float
    base_rate: float
    deciles: pd.DataFrame  # decile, subscribers, mean_predicted_probability, observed_churn_rate


def precision_at_top(probability: np.ndarray, labels: np.ndarray, share: float = 0.10) -> float:
    """Churn rate among the `share` of subscribers with the highest scores (ties by order)."""
    k = max(1, int(np.ceil(share * len(probability))))
    top = np.argsort(-probability, kind="stable")[:k]
    return float(np.mean(labels[top]))


def calibration_by_decile(probability: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Decile 1 = the highest-scored tenth; mean score vs observed churn rate in each."""
    order = np.argsort(-probability, kind="stable")
    decile = np.empty(len(order), dtype=int)
    decile[order] = np.arange(len(order)) * 10 // len(order) + 1
    frame = pd.DataFrame({"decile": decile, "p": probability, "y": labels})
    return (
        frame.groupby("decile")
        .agg(
            subscribers=("y", "size"),
            mean_predicted_probability=("p", "mean"),
            observed_churn_rate=("y", "mean"),
        )
        .reset_index()
    )


def _cutoff_dates(rows: pd.DataFrame) -> list[str]:
    return sorted(str(pd.Timestamp(c).date()) for c in rows["cutoff_at"].unique())


def evaluate(spec: ModelSpec, labelled: pd.DataFrame, plan: Backtest) -> Evaluation:
    test = labelled[labelled["cutoffs_before_as_of"] == plan.test_k].reset_index(drop=True)
    y = test[LABEL].astype(int).to_numpy()
    if plan.method == "time_split":
        train = labelled[labelled["cutoffs_before_as_of"].isin(plan.train_ks)]
        probability = fit(spec, train).probability(test)
        train_cutoffs = _cutoff_dates(train)
    else:
        probability = np.empty(len(test))
        folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=0)
        for train_rows, test_rows in folds.split(test, y):
            fitted = fit(spec, test.iloc[train_rows])
            probability[test_rows] = fitted.probability(test.iloc[test_rows])
        train_cutoffs = _cutoff_dates(test)
    return Evaluation(
        model=spec.name,
        method=plan.method,
        train_cutoffs=train_cutoffs,
        test_cutoff=_cutoff_dates(test)[0],
        auc=float(roc_auc_score(y, probability)),
        precision_at_top_decile=precision_at_top(probability, y),
        base_rate=float(y.mean()),
        deciles=calibration_by_decile(probability, y),
    )


def tiers(probability: np.ndarray) -> np.ndarray:
    order = np.argsort(-probability, kind="stable")
    rank_share = np.empty(len(order))
    rank_share[order] = (np.arange(len(order)) + 1) / len(order)
    tier = np.full(len(order), "low", dtype=object)
    for name, share in reversed(TIER_SHARES):
        tier[rank_share <= share] = name
    return tier


def top_factors(fitted: Fitted, inputs: pd.DataFrame, phrases: pd.DataFrame) -> np.ndarray:
    """The TOP_FACTORS inputs that raise each subscriber's log-odds most above the average
    subscriber's (coefficient x standardised value), in words; fewer when fewer raise it."""
    scaler, logistic = fitted.pipeline[0], fitted.pipeline[-1]
    contribution = scaler.transform(inputs) * logistic.coef_[0]
    words = phrases[list(inputs.columns)].fillna("").to_numpy()
    # an input with nothing to say (e.g. no rated ticket, a level not held) is never named
    contribution = np.where(words == "", -np.inf, contribution)
    order = np.argsort(-contribution, axis=1, kind="stable")[:, :TOP_FACTORS]
    rows = np.arange(len(inputs))[:, None]
    chosen = np.where(np.take_along_axis(contribution, order, axis=1) > 0, words[rows, order], "")
    return np.array(["; ".join(w for w in row if w) for row in chosen], dtype=object)


def score(features: pd.DataFrame) -> tuple[pd.DataFrame, list[Evaluation]]:
    """(churn_risk_scores, [the model's evaluation, then each compared model's]). `features`
    are churn_features rows, joined with their traits (features.with_traits)."""
    labelled = features[features[LABEL].notna()]
    plan = plan_backtest(labelled)
    evaluations = [evaluate(spec, labelled, plan) for spec in (MODEL, *COMPARED)]
    fitted = fit(MODEL, labelled)
    current = features[features["is_scoring_cutoff"]].reset_index(drop=True)
    inputs = fitted.inputs(current)
    probability = fitted.pipeline.predict_proba(inputs)[:, 1]
    raises_risk = dict(zip(inputs.columns, fitted.pipeline[-1].coef_[0] > 0, strict=True))
    scores = pd.DataFrame(
        {
            "customer_id": current["customer_id"],
            "scored_at": current["cutoff_at"],
            "churn_probability": probability,
            "risk_tier": tiers(probability),
            "top_factors": top_factors(
                fitted, inputs, describe(current, fitted.encoding, raises_risk)
            ),
        }
    )
    return scores, evaluations


def evaluation_table(evaluations: list[Evaluation]) -> pd.DataFrame:
    """One row per model per score decile on the backtest cutoff; model figures repeated."""
    frames = []
    for e in evaluations:
        frame = e.deciles.copy()
        frame.insert(0, "model", e.model)
        frame.insert(1, "method", e.method)
        frame.insert(2, "train_cutoff_dates", ", ".join(e.train_cutoffs))
        frame.insert(3, "test_cutoff_date", pd.Timestamp(e.test_cutoff).date())
        frame.insert(4, "auc", e.auc)
        frame.insert(5, "precision_at_top_decile", e.precision_at_top_decile)
        frame.insert(6, "base_rate", e.base_rate)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
