"""Read the campaign assignments' features, write the uplift scores and their evaluation.

Protocol (time-honest, like the churn model's): the held-out campaign is the latest whose
outcome horizon has passed; the learner is chosen and the models fitted on the campaigns before
it, then compared on it with targeting by churn risk (1 − the untreated arm's predicted
retention, the same features) and at random. The production model is the chosen learner
refitted on every campaign with an outcome, and scores every subscriber paying at the as-of
instant (the churn features of the scoring cutoff).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from subscriber_warehouse.churn.features import with_traits
from subscriber_warehouse.uplift.evaluation import auuc, qini_coefficient
from subscriber_warehouse.uplift.model import choose, fit_uplift

OUTCOME = "is_retained_within_horizon"
# a campaign to learn from or test on needs this many customers with an outcome in each arm
MIN_ARM = 30
# the share of a campaign's customers the compared targetings contact
TARGET_SHARE = 0.2
RANDOM_SEED = 20261203

SCORES = {
    "customer_id": "str",
    "scored_at": "datetime64[us]",
    "model": "str",
    "retention_if_treated": "float64",
    "retention_if_not": "float64",
    "uplift": "float64",
    "mrr": "float64",
}
EVALUATION = {
    "targeting": "str",
    "model": "str",
    "train_campaigns": "str",
    "test_campaign": "str",
    "customers_treatment": "int64",
    "customers_holdout": "int64",
    "qini_coefficient": "float64",
    "auuc": "float64",
    "target_share": "float64",
    "incremental_mrr_per_1000_contacted": "float64",
    "validation_qini": "float64",
}


class NoExperiments(Exception):
    """Too few randomised campaigns with an outcome to learn the offer's effect from."""


def _frame(rows: list[dict] | pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame({n: pd.Series(dtype=t) for n, t in columns.items()})
    return frame[list(columns)].astype(columns)


def usable_campaigns(labelled: pd.DataFrame) -> list[str]:
    """Campaigns with an outcome and MIN_ARM customers in each arm, oldest first."""
    arms = labelled.groupby(["campaign_id", "arm"]).size().unstack(fill_value=0)
    enough = arms.reindex(columns=["treatment", "holdout"], fill_value=0).min(axis=1) >= MIN_ARM
    first = labelled.groupby("campaign_id")["assigned_at"].min()
    return sorted(enough[enough].index, key=lambda c: (first[c], c))


def incremental_mrr_per_1000(score, treated, retained, mrr, share: float = TARGET_SHARE) -> float:
    """Contact the top `share` by score: among those targeted, the treated arm's retention rate
    minus the holdout arm's, times the targeted customers' mean MRR, per 1,000 contacted. Rates
    of customers, not of MRR: in a few hundred customers one large account's churn would
    decide an MRR-weighted difference."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    top = order[: max(1, round(share * len(order)))]
    t, r, m = np.asarray(treated)[top], np.asarray(retained)[top], np.asarray(mrr)[top]
    if t.all() or not t.any():
        return float("nan")
    return float(1000 * (r[t].mean() - r[~t].mean()) * m.mean())


def _arrays(frame: pd.DataFrame):
    treated = (frame["arm"] == "treatment").to_numpy()
    retained = frame[OUTCOME].astype(bool).to_numpy()
    return treated, retained, frame["mrr"].astype(float).to_numpy()


def evaluate(labelled: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """(the chosen learner, the evaluation table) on the latest usable campaign."""
    campaigns = usable_campaigns(labelled)
    if len(campaigns) < 3:  # training, validation (within training) and test campaigns
        raise NoExperiments(
            f"{len(campaigns)} campaign(s) with an outcome and {MIN_ARM} customers per arm; "
            "the uplift model needs 3 (train, validate, test)"
        )
    test_id = campaigns[-1]
    train = labelled[labelled["campaign_id"].isin(campaigns[:-1])].reset_index(drop=True)
    test = labelled[labelled["campaign_id"] == test_id].reset_index(drop=True)
    kind, validation = choose(train)
    fitted = fit_uplift(train, *_arrays(train)[:2], kind)
    treated, retained, mrr = _arrays(test)
    scores = {
        "uplift": fitted.uplift(test),
        "churn_risk": 1.0 - fitted.retention_holdout(test),
        "random": np.random.default_rng(RANDOM_SEED).random(len(test)),
    }
    rows = [
        {
            "targeting": targeting,
            "model": kind if targeting == "uplift" else targeting,
            "train_campaigns": ", ".join(campaigns[:-1]),
            "test_campaign": test_id,
            "customers_treatment": int(treated.sum()),
            "customers_holdout": int((~treated).sum()),
            "qini_coefficient": qini_coefficient(score, treated, retained),
            "auuc": auuc(score, treated, retained),
            "target_share": TARGET_SHARE,
            "incremental_mrr_per_1000_contacted": incremental_mrr_per_1000(
                score, treated, retained, mrr
            ),
            "validation_qini": validation.get(kind) if targeting == "uplift" else None,
        }
        for targeting, score in scores.items()
    ]
    return kind, _frame(rows, EVALUATION)


def score(labelled: pd.DataFrame, current: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The chosen learner refitted on every usable campaign, scoring `current`."""
    train = labelled[labelled["campaign_id"].isin(usable_campaigns(labelled))]
    train = train.reset_index(drop=True)
    fitted = fit_uplift(train, *_arrays(train)[:2], kind)
    # the learner's effect on the untreated arm's retention, within [0, 1]: for a T-learner
    # the treated arm's model, for an X-learner its blended effect (not its first stage's)
    untreated = fitted.retention_holdout(current)
    treated = np.clip(untreated + fitted.uplift(current), 0.0, 1.0)
    return _frame(
        {
            "customer_id": current["customer_id"],
            "scored_at": current["cutoff_at"],
            "model": kind,
            "retention_if_treated": treated,
            "retention_if_not": untreated,
            "uplift": treated - untreated,
            "mrr": current["mrr"].astype(float),
        },
        SCORES,
    )


def write_uplift(con: duckdb.DuckDBPyConnection) -> dict[str, int | str]:
    """Write uplift_scores and uplift_model_evaluation; without enough experiments write them
    empty and say why."""
    assigned = with_traits(
        con.execute("select * from marts.uplift_features order by assigned_at, assignment_id").df(),
        con.execute("select * from marts.uplift_feature_traits").df(),
    )
    current = with_traits(
        con.execute(
            "select * from marts.churn_features where is_scoring_cutoff order by customer_id"
        ).df(),
        con.execute(
            "select * from marts.churn_feature_traits where cutoff_at = "
            "(select max(cutoff_at) from marts.churn_features where is_scoring_cutoff)"
        ).df(),
    ).reset_index(drop=True)
    labelled = assigned[assigned[OUTCOME].notna()].reset_index(drop=True)
    try:
        kind, evaluation = evaluate(labelled)
        scores, skipped = score(labelled, current, kind), ""
    except NoExperiments as reason:
        scores, evaluation, skipped = _frame([], SCORES), _frame([], EVALUATION), str(reason)
    for name, frame in (("uplift_scores", scores), ("uplift_model_evaluation", evaluation)):
        con.register("_frame", frame)
        con.execute(f"create or replace table marts.{name} as select * from _frame")
        con.unregister("_frame")
    return {
        "uplift_scores": len(scores),
        "uplift_model_evaluation": len(evaluation),
        "skipped": skipped,
    }
