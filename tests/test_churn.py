"""The churn-risk model's pieces on hand-made numbers, and its protocol on synthetic features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from subscriber_warehouse.churn.features import _share_change
from subscriber_warehouse.churn.model import (
    NotEnoughHistory,
    calibration_by_decile,
    precision_at_top,
    score,
    tiers,
)


def test_share_change_is_signed_and_bounded():
    now = pd.Series([0.0, 15.0, 10.0, 0.0, 5.0])
    before = pd.Series([10.0, 10.0, 10.0, 0.0, 20.0])
    # fell to 0, +5/15, flat, nothing either side, -15/20
    assert _share_change(now, before).tolist() == pytest.approx([-1.0, 1 / 3, 0.0, 0.0, -0.75])


def test_precision_at_top_decile_by_hand():
    p = np.array([0.9, 0.1, 0.8, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.05, 0.95, 0.01])
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    # 12 subscribers: the top 10 % is ceil(1.2) = 2 of them, scores 0.95 (y 0) and 0.9 (y 1)
    assert precision_at_top(p, y) == 0.5


def test_calibration_deciles_by_hand():
    p = np.arange(20, 0, -1) / 20  # 1.00, 0.95, ..., 0.05: already best first
    y = np.array([1, 1, 1, 0] + [0] * 16)
    deciles = calibration_by_decile(p, y)
    assert deciles["subscribers"].tolist() == [2] * 10
    assert deciles["mean_predicted_probability"].iloc[0] == pytest.approx(0.975)
    assert deciles["observed_churn_rate"].tolist()[:3] == [1.0, 0.5, 0.0]


def test_tiers_by_rank():
    p = np.linspace(0.01, 0.2, 20)  # ascending: the last two are the top 10 %
    t = tiers(p)
    assert list(t[-2:]) == ["high", "high"]
    assert list(t[-6:-2]) == ["medium"] * 4
    assert set(t[:-6]) == {"low"}


def _synthetic_features(seed: int = 3, customers: int = 3000, cutoffs: int = 4) -> pd.DataFrame:
    """Churn driven by failed payments and falling usage, not by tenure."""
    rng = np.random.default_rng(seed)
    as_of = pd.Timestamp("2025-12-31")
    frames = []
    for k in range(cutoffs + 1):
        failed = rng.poisson(0.3, customers)
        usage_before = rng.gamma(2.0, 20.0, customers)
        usage_now = usage_before * rng.uniform(0.1, 1.5, customers)
        logit = -2.6 + 1.2 * failed + 2.0 * (usage_now < 0.4 * usage_before)
        churned = rng.random(customers) < 1 / (1 + np.exp(-logit))
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i}" for i in range(customers)],
                    "cutoff_at": as_of - pd.Timedelta(days=90 * k),
                    "cutoffs_before_as_of": k,
                    "is_scoring_cutoff": k == 0,
                    "tenure_days": rng.integers(0, 700, customers),
                    "mrr": rng.gamma(2.0, 50.0, customers).round(2),
                    "mrr_one_horizon_before": rng.gamma(2.0, 50.0, customers).round(2),
                    "active_subscriptions": 1,
                    "has_annual_plan": False,
                    "primary_tier": "pro",
                    "has_discount": False,
                    "usage_last_30_days": usage_now.round(),
                    "usage_baseline_per_30_days": usage_before,
                    "failed_payments_last_90_days": failed,
                    "tickets_last_90_days": 0,
                    "low_satisfaction_tickets_last_90_days": 0,
                    "avg_satisfaction_last_90_days": np.nan,
                    "avg_sentiment_last_90_days": np.nan,
                    "campaign_engagements_last_90_days": 0,
                    "campaign_unsubscribes_last_90_days": 0,
                    "true_logit": logit,  # not a model input: the oracle to compare with
                    "is_churned_within_horizon": pd.array(
                        [None] * customers if k == 0 else churned, dtype="boolean"
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_backtest_is_time_honest_and_beats_the_tenure_baseline():
    features = _synthetic_features()
    scores, (model, _, baseline) = score(features)
    # trained only on cutoffs whose 90-day labels were known by the test cutoff
    assert model.method == "time_split" and model.test_cutoff == "2025-10-02"
    assert model.train_cutoffs == ["2025-01-05", "2025-04-05", "2025-07-04"]
    assert baseline.train_cutoffs == model.train_cutoffs
    test = features[features["cutoffs_before_as_of"] == 1]
    oracle = roc_auc_score(test["is_churned_within_horizon"].astype(int), test["true_logit"])
    assert model.auc > oracle - 0.03
    assert abs(baseline.auc - 0.5) < 0.05  # tenure carries no signal here
    assert model.precision_at_top_decile > 2 * model.base_rate
    assert len(scores) == 3000 and scores["scored_at"].eq(pd.Timestamp("2025-12-31")).all()


def test_top_factors_name_what_raised_the_risk():
    features = _synthetic_features()
    scores, _ = score(features)
    current = features[features["is_scoring_cutoff"]].reset_index(drop=True)
    worst = current.assign(p=scores["churn_probability"]).sort_values("p").iloc[-1]
    factors = scores.loc[scores["customer_id"] == worst["customer_id"], "top_factors"].item()
    failed = int(worst["failed_payments_last_90_days"])
    assert f"{failed} failed payments in the last 90 days" in factors
    assert 1 <= factors.count(";") + 1 <= 3


def test_a_short_history_gives_empty_tables_and_a_reason(tmp_path):
    import duckdb

    from subscriber_warehouse.churn.warehouse import write_churn_risk

    features = _synthetic_features(customers=30, cutoffs=1)  # one labelled cutoff, 30 rows
    with pytest.raises(NotEnoughHistory, match="no labelled cutoff holds 10 churned"):
        score(features)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.register("_f", features.drop(columns="true_logit"))
    con.execute("create table marts.churn_features as select * from _f")
    con.execute(
        "create table marts.churn_feature_traits (customer_id varchar, cutoff_at timestamp, "
        "attribute_name varchar, attribute_value varchar)"
    )
    written = write_churn_risk(con)
    assert written["churn_risk_scores"] == 0 and "too little churn" in written["skipped"]
    types = {r[0]: r[1] for r in con.execute("describe marts.churn_model_evaluation").fetchall()}
    assert types["test_cutoff_date"] == "DATE"
    assert con.execute("describe marts.churn_risk_scores").fetchall()[0][:2] == (
        "customer_id",
        "VARCHAR",
    )
    con.close()


def test_recent_churn_only_is_cross_validated_and_every_subscriber_scored():
    # a snapshot-style export: every churner left in the last horizon, so only cutoff k = 1
    # has churners; the earlier cutoffs hold none
    features = _synthetic_features(cutoffs=3)
    earlier = features["cutoffs_before_as_of"] > 1
    features.loc[earlier, "is_churned_within_horizon"] = False
    scores, (model, without_traits, baseline) = score(features)
    assert model.method == "cross_validation" == baseline.method == without_traits.method
    assert model.test_cutoff == "2025-10-02" and model.train_cutoffs == ["2025-10-02"]
    assert model.auc > 0.7 and abs(baseline.auc - 0.5) < 0.05
    assert len(scores) == 3000


def _with_contract_trait(features: pd.DataFrame, seed: int = 5) -> tuple[pd.DataFrame, ...]:
    """A contract type drawn per customer that moves the churn label: month_to_month churns
    far more than two_year. Returned as churn_feature_traits rows, with the labels redrawn."""
    rng = np.random.default_rng(seed)
    customers = features["customer_id"].unique()
    contract = dict(
        zip(
            customers,
            rng.choice(
                ["month_to_month", "one_year", "two_year"], size=len(customers), p=[0.5, 0.3, 0.2]
            ),
            strict=True,
        )
    )
    shift = {"month_to_month": 1.5, "one_year": -0.5, "two_year": -2.0}
    features = features.copy()
    logit = features["true_logit"] + features["customer_id"].map(contract).map(shift)
    churned = rng.random(len(features)) < 1 / (1 + np.exp(-logit))
    labelled = ~features["is_scoring_cutoff"]
    features["is_churned_within_horizon"] = pd.array(
        np.where(labelled, churned, None), dtype="boolean"
    )
    traits = pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "cutoff_at": features["cutoff_at"],
            "attribute_name": "contract_type",
            "attribute_value": features["customer_id"].map(contract),
        }
    )
    return features, traits


def test_customer_traits_enter_the_model_and_raise_its_auc():
    from subscriber_warehouse.churn.features import with_traits

    features, traits = _with_contract_trait(_synthetic_features())
    scores, (model, without_traits, _) = score(with_traits(features, traits))
    assert model.auc > without_traits.auc + 0.05
    worst = scores.sort_values("churn_probability").iloc[-1]
    assert "contract type: month_to_month" in worst["top_factors"]


def test_encoding_pools_rare_levels_and_reads_numbers_as_numbers():
    from subscriber_warehouse.churn.features import OTHER, encode, fit_encoding

    train = pd.DataFrame(
        {
            "trait:plan_family": ["a"] * 60 + ["b"] * 30 + ["c"] * 5 + [None] * 5,
            # spans orders of magnitude: log1p'd; one missing value is filled with the median
            "trait:employees": [str(v) for v in [1, 10, 100, 1000] * 24 + [50000] * 3] + [None],
        }
    )
    train = pd.concat([_synthetic_features(customers=100, cutoffs=0), train], axis=1)
    encoding = fit_encoding(train, ["trait:plan_family", "trait:employees"])
    # c (5 rows) and missing (5) are under 20 rows: pooled with anything new into "other"
    assert encoding.levels == {"trait:plan_family": ["a", "b", OTHER]}
    log, fill = encoding.numeric["trait:employees"]
    assert log and fill == pytest.approx(np.log1p(100))  # median of the log values
    scored = train.head(3).copy()
    scored["trait:plan_family"] = ["b", "new level", None]
    scored["trait:employees"] = ["9", None, "x"]
    inputs = encode(scored, encoding)
    assert inputs["trait:plan_family=b"].tolist() == [1, 0, 0]
    assert inputs[f"trait:plan_family={OTHER}"].tolist() == [0, 1, 1]
    assert inputs["trait:employees"].tolist() == pytest.approx([np.log1p(9), fill, fill])
    assert inputs["trait:employees missing"].tolist() == [0, 1, 1]


def test_too_few_one_off_buyers_give_an_empty_table():
    from subscriber_warehouse.clv.purchases import predict_purchases

    purchases = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "purchased_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
            "amount": [10.0, 12.0, 5.0],
        }
    )
    empty = predict_purchases(purchases, pd.Timestamp("2025-12-31"))
    assert empty.empty and "probability_alive" in empty.columns
