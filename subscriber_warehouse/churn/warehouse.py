"""Read the churn features from the warehouse, write the scores and the evaluation."""

from __future__ import annotations

import duckdb

from subscriber_warehouse.churn.model import evaluation_table, score


def write_churn_risk(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    features = con.execute(
        "select * from marts.churn_features order by cutoff_at, customer_id"
    ).df()
    scores, evaluations = score(features)
    evaluation = evaluation_table(evaluations)
    con.register("_scores", scores)
    con.register("_evaluation", evaluation)
    con.execute("create or replace table marts.churn_risk_scores as select * from _scores")
    con.execute("create or replace table marts.churn_model_evaluation as select * from _evaluation")
    con.unregister("_scores")
    con.unregister("_evaluation")
    return {"churn_risk_scores": len(scores), "churn_model_evaluation": len(evaluation)}
