"""Read the churn features from the warehouse, write the scores and the evaluation."""

from __future__ import annotations

import duckdb
import pandas as pd

from subscriber_warehouse.churn.features import with_traits
from subscriber_warehouse.churn.model import NotEnoughHistory, evaluation_table, score

# the tables' columns when there is no model yet (a warehouse with a short history)
EMPTY_SCORES = {
    "customer_id": "str",
    "scored_at": "datetime64[us]",
    "churn_probability": "float64",
    "risk_tier": "str",
    "top_factors": "str",
}
EMPTY_EVALUATION = {
    "model": "str",
    "method": "str",
    "train_cutoff_dates": "str",
    "test_cutoff_date": "datetime64[us]",
    "auc": "float64",
    "precision_at_top_decile": "float64",
    "base_rate": "float64",
    "decile": "int64",
    "subscribers": "int64",
    "mean_predicted_probability": "float64",
    "observed_churn_rate": "float64",
}


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def write_churn_risk(con: duckdb.DuckDBPyConnection) -> dict[str, int | str]:
    """Write both tables; with too short a history write them empty and say why."""
    features = con.execute(
        "select * from marts.churn_features order by cutoff_at, customer_id"
    ).df()
    traits = con.execute("select * from marts.churn_feature_traits").df()
    features = with_traits(features, traits)
    try:
        scores, evaluations = score(features)
        evaluation, skipped = evaluation_table(evaluations), ""
    except NotEnoughHistory as reason:
        scores, evaluation, skipped = _empty(EMPTY_SCORES), _empty(EMPTY_EVALUATION), str(reason)
    con.register("_scores", scores)
    con.register("_evaluation", evaluation)
    con.execute("create or replace table marts.churn_risk_scores as select * from _scores")
    con.execute(
        "create or replace table marts.churn_model_evaluation as select * replace "
        "(cast(test_cutoff_date as date) as test_cutoff_date) from _evaluation"
    )
    con.unregister("_scores")
    con.unregister("_evaluation")
    return {
        "churn_risk_scores": len(scores),
        "churn_model_evaluation": len(evaluation),
        "skipped": skipped,
    }
