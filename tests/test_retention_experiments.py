"""Retention experiments on the shared run: the generator's randomised retention campaigns, whose
effect per customer the simulation knows (landing/_truth/), against what the warehouse measured,
learned and recommends."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from flow import query

pytestmark = pytest.mark.slow

TOP_SHARE = 0.2


def _truth(landing: Path) -> pd.DataFrame:
    return pd.concat(pd.read_parquet(f) for f in (landing / "_truth").glob("*.parquet"))


def _frame(warehouse: Path, sql: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def scored(landing, warehouse) -> pd.DataFrame:
    """Every scored subscriber with their uplift, churn risk, MRR and the segment the simulation
    gave them at the latest campaign (None for one it did not reach)."""
    truth = _truth(landing)
    latest = truth[truth["campaign_id"] == truth["campaign_id"].max()]
    scores = _frame(
        warehouse,
        "select uplift.customer_id, uplift.uplift, uplift.mrr, risk.churn_probability "
        "from marts.uplift_scores as uplift "
        "inner join marts.churn_risk_scores as risk using (customer_id)",
    )
    return scores.merge(latest[["customer_id", "segment"]], on="customer_id", how="left")


def _top(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    n = round(TOP_SHARE * len(frame))
    return frame.sort_values([column, "customer_id"], ascending=[False, True]).head(n)


def test_every_paying_subscriber_is_scored(warehouse):
    (counts,) = query(
        warehouse,
        "select (select count(*) from marts.uplift_scores), "
        "(select count(*) from marts.churn_risk_scores), "
        "(select count(*) from marts.next_best_action)",
    )
    assert counts[0] == counts[1] == counts[2] > 500


def test_the_top_by_uplift_holds_the_persuadables_and_spares_the_sleeping_dogs(scored):
    reached = scored[scored["segment"].notna()]
    base = reached["segment"].value_counts(normalize=True)
    by_uplift = _top(reached, "uplift")["segment"].value_counts(normalize=True)
    by_risk = _top(reached, "churn_probability")["segment"].value_counts(normalize=True)
    assert by_uplift["persuadable"] >= 2 * base["persuadable"]
    assert by_uplift["persuadable"] > 1.5 * by_risk.get("persuadable", 0)
    assert by_uplift.get("sleeping_dog", 0) <= 0.5 * base["sleeping_dog"]
    assert by_uplift.get("sleeping_dog", 0) < by_risk["sleeping_dog"]


def test_targeting_by_uplift_retains_more_mrr_than_by_risk(landing, warehouse, scored):
    """The simulated effect of each segment measured on every campaign with an outcome (the
    truth's segments, the marts' outcomes, pandas): contacting the top 20 % by uplift keeps more
    MRR than contacting the top 20 % by churn risk, and at random (everyone's mean)."""
    outcomes = _frame(
        warehouse,
        "select customer_id, campaign_id, arm, is_retained_within_horizon as retained "
        "from marts.uplift_features where is_retained_within_horizon is not null",
    ).merge(_truth(landing)[["customer_id", "campaign_id", "segment"]])
    rates = outcomes.groupby(["segment", "arm"])["retained"].mean().unstack()
    effect = rates["treatment"] - rates["holdout"]
    assert effect["persuadable"] > 0.05 and effect["sleeping_dog"] < -0.05
    reached = scored[scored["segment"].notna()].assign(effect=lambda f: f["segment"].map(effect))
    kept = {
        name: (top["effect"] * top["mrr"]).sum()
        for name, top in (
            ("uplift", _top(reached, "uplift")),
            ("risk", _top(reached, "churn_probability")),
        )
    }
    random = TOP_SHARE * (reached["effect"] * reached["mrr"]).sum()
    assert kept["uplift"] > kept["risk"] and kept["uplift"] > random


def test_the_evaluation_compares_the_model_with_risk_and_random_on_the_latest_campaign(warehouse):
    rows = query(
        warehouse,
        "select targeting, test_campaign, customers_treatment, customers_holdout, "
        "qini_coefficient from marts.uplift_model_evaluation order by targeting",
    )
    assert [r[0] for r in rows] == ["churn_risk", "random", "uplift"]
    (latest,) = query(
        warehouse,
        "select max(campaign_id) from marts.uplift_features "
        "where is_retained_within_horizon is not null",
    )
    assert {r[1] for r in rows} == {latest[0]}
    qini = {r[0]: r[4] for r in rows}
    assert qini["uplift"] > 0 and qini["uplift"] > qini["churn_risk"]


def test_no_one_the_contact_pushes_out_is_offered_it(warehouse):
    (counts,) = query(
        warehouse,
        "select count(*) filter (where action = 'retention_offer' and uplift <= 0), "
        "count(*) filter (where action = 'retention_offer'), "
        "count(*) filter (where action = 'nothing' and uplift < 0), "
        "(select count(*) from marts.audience_retention_offer) "
        "from marts.next_best_action",
    )
    assert counts[0] == 0 and counts[1] == counts[3] > 0 and counts[2] > 0
