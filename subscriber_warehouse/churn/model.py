"""Fit, backtest and explain the churn-risk model.

Protocol (time-honest): each labelled cutoff's features use only the past, its label the
following horizon. The backtest trains on the cutoffs whose horizons ended by the latest
labelled cutoff and scores that cutoff; the production model trains on every labelled cutoff
and scores the as-of instant. A tenure-only model, fitted the same way, is the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from subscriber_warehouse.churn.features import describe, model_inputs

BASELINE_INPUTS = ["log_tenure_days"]
# fewer labelled subscribers (or churners) than this in a training or test set: no honest model
MIN_LABELLED = 100
MIN_CHURNED = 10


class NotEnoughHistory(ValueError):
    """The warehouse does not yet hold the labelled cutoffs the backtest and the model need."""


TOP_FACTORS = 3
# tiers by rank, so campaign sizes stay stable from run to run: top 10% high, next 20% medium
TIER_SHARES = (("high", 0.10), ("medium", 0.30))


@dataclass(frozen=True)
class Evaluation:
    model: str
    train_cutoffs: list[str]
    test_cutoff: str
    auc: float
    precision_at_top_decile: float
    base_rate: float
    deciles: pd.DataFrame  # decile, subscribers, mean_predicted_probability, observed_churn_rate


def fit(inputs: pd.DataFrame, labels: pd.Series):
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(inputs, labels.astype(int))


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


def _require_history(rows: pd.DataFrame, role: str) -> None:
    churned = int(rows["is_churned_within_horizon"].sum()) if len(rows) else 0
    if len(rows) < MIN_LABELLED or churned < MIN_CHURNED or churned == len(rows):
        raise NotEnoughHistory(
            f"{role} set has {len(rows)} labelled subscribers, {churned} churned (needs "
            f"{MIN_LABELLED} and {MIN_CHURNED} churned, and some who stayed): the history is too "
            "short for a time-honest churn model"
        )


def evaluate(name: str, columns: list[str], features: pd.DataFrame) -> Evaluation:
    labelled = features[features["is_churned_within_horizon"].notna()]
    test_k = labelled["cutoffs_before_as_of"].min()
    train = labelled[labelled["cutoffs_before_as_of"] > test_k]
    test = labelled[labelled["cutoffs_before_as_of"] == test_k]
    _require_history(train, "training")
    _require_history(test, "backtest")
    model = fit(model_inputs(train)[columns], train["is_churned_within_horizon"])
    probability = model.predict_proba(model_inputs(test)[columns])[:, 1]
    y = test["is_churned_within_horizon"].astype(int).to_numpy()
    return Evaluation(
        model=name,
        train_cutoffs=sorted(str(c.date()) for c in train["cutoff_at"].unique()),
        test_cutoff=str(pd.Timestamp(test["cutoff_at"].iloc[0]).date()),
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


def top_factors(model, inputs: pd.DataFrame, phrases: pd.DataFrame) -> np.ndarray:
    """The TOP_FACTORS inputs that raise each subscriber's log-odds most above the average
    subscriber's (coefficient x standardised value), in words; fewer when fewer raise it."""
    scaler, logistic = model[0], model[-1]
    contribution = scaler.transform(inputs) * logistic.coef_[0]
    words = phrases[list(inputs.columns)].fillna("").to_numpy()
    # an input with nothing to say (e.g. no rated ticket) is never named as a factor
    contribution = np.where(words == "", -np.inf, contribution)
    order = np.argsort(-contribution, axis=1, kind="stable")[:, :TOP_FACTORS]
    rows = np.arange(len(inputs))[:, None]
    chosen = np.where(np.take_along_axis(contribution, order, axis=1) > 0, words[rows, order], "")
    return np.array(["; ".join(w for w in row if w) for row in chosen], dtype=object)


def score(features: pd.DataFrame) -> tuple[pd.DataFrame, list[Evaluation]]:
    """(churn_risk_scores, [model evaluation, tenure-baseline evaluation])."""
    evaluations = [
        evaluate("churn_risk", list(model_inputs(features.head(1)).columns), features),
        evaluate("tenure_baseline", BASELINE_INPUTS, features),
    ]
    labelled = features[features["is_churned_within_horizon"].notna()]
    model = fit(model_inputs(labelled), labelled["is_churned_within_horizon"])
    current = features[features["is_scoring_cutoff"]].reset_index(drop=True)
    inputs = model_inputs(current)
    probability = model.predict_proba(inputs)[:, 1]
    raises_risk = dict(zip(inputs.columns, model[-1].coef_[0] > 0, strict=True))
    scores = pd.DataFrame(
        {
            "customer_id": current["customer_id"],
            "scored_at": current["cutoff_at"],
            "churn_probability": probability,
            "risk_tier": tiers(probability),
            "top_factors": top_factors(model, inputs, describe(current, raises_risk)),
        }
    )
    return scores, evaluations


def evaluation_table(evaluations: list[Evaluation]) -> pd.DataFrame:
    """One row per model per score decile on the backtest cutoff; model figures repeated."""
    frames = []
    for e in evaluations:
        frame = e.deciles.copy()
        frame.insert(0, "model", e.model)
        frame.insert(1, "train_cutoff_dates", ", ".join(e.train_cutoffs))
        frame.insert(2, "test_cutoff_date", pd.Timestamp(e.test_cutoff).date())
        frame.insert(3, "auc", e.auc)
        frame.insert(4, "precision_at_top_decile", e.precision_at_top_decile)
        frame.insert(5, "base_rate", e.base_rate)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
