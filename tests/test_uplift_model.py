"""The uplift evaluation on hand-worked numbers, and the learners on simulated campaigns whose
true effect is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from subscriber_warehouse.uplift.evaluation import auuc, qini_coefficient, uplift_curves
from subscriber_warehouse.uplift.model import (
    CANDIDATES,
    OUTCOME,
    _simplest_best,
    choose,
    fit_uplift,
)

# Eight customers, best score first; 0.8 is a tie (a holdout customer who left listed before a
# treated one who stayed). T = treated, C = holdout, y = retained.
#
#   score arm y | k n_treated n_holdout ret_treated ret_holdout | qini           uplift_gain
#   (none)      | 0     0         0          0           0      | 0              0
#   0.9    T  1 | 1     1         0          1           0      | 0 (no holdout) 0 (no holdout)
#   0.8    C  0 |
#   0.8    T  1 | 3     2         1          2           0      | 2-0*2/1 = 2    (2/2-0/1)*3 = 3
#   0.6    T  1 | 4     3         1          3           0      | 3-0*3/1 = 3    (3/3-0/1)*4 = 4
#   0.5    C  1 | 5     3         2          3           1      | 3-1*3/2 = 3/2  (3/3-1/2)*5 = 5/2
#   0.4    C  0 | 6     3         3          3           1      | 3-1*3/3 = 2    (3/3-1/3)*6 = 4
#   0.3    T  0 | 7     4         3          3           1      | 3-1*4/3 = 5/3  (3/4-1/3)*7 = 35/12
#   0.1    C  1 | 8     4         4          3           2      | 3-2*4/4 = 1    (3/4-2/4)*8 = 2
#
# N = 8, x = k/8, Q = qini/8, U = uplift_gain/8, so each trapezoid is Δk·(a+b)/2 / 64.
# ∫Q dx: Δk·(a+b)/2 over the segments = 0 + 2·1 + 5/2 + 9/4 + 7/4 + 11/6 + 4/3 = 35/3, so
#   ∫Q dx = 35/192; random targeting's line x·Q(1) = x/8 has area 1/16 = 12/192;
#   Qini coefficient = 35/192 − 12/192 = 23/192.
# ∫U dx: 0 + 2·3/2 + 7/2 + 13/4 + 13/4 + 83/24 + 59/24 = 227/12, so AUUC = 227/768.
SCORE = [0.9, 0.8, 0.8, 0.6, 0.5, 0.4, 0.3, 0.1]
TREATED = [True, False, True, True, False, False, True, False]
RETAINED = [1, 0, 1, 1, 1, 0, 0, 1]


def test_uplift_curves_by_hand():
    curves = uplift_curves(SCORE, TREATED, RETAINED)
    assert curves["k"].tolist() == [0, 1, 3, 4, 5, 6, 7, 8]
    assert curves["n_treated"].tolist() == [0, 1, 2, 3, 3, 3, 4, 4]
    assert curves["n_holdout"].tolist() == [0, 0, 1, 1, 2, 3, 3, 4]
    assert curves["retained_treated"].tolist() == [0, 1, 2, 3, 3, 3, 3, 3]
    assert curves["retained_holdout"].tolist() == [0, 0, 0, 0, 1, 1, 1, 2]
    assert curves["qini"].tolist() == pytest.approx([0, 0, 2, 3, 3 / 2, 2, 5 / 3, 1])
    assert curves["uplift_gain"].tolist() == pytest.approx([0, 0, 3, 4, 5 / 2, 4, 35 / 12, 2])


def test_qini_and_auuc_by_hand_and_ties_enter_together():
    assert qini_coefficient(SCORE, TREATED, RETAINED) == pytest.approx(23 / 192)
    assert auuc(SCORE, TREATED, RETAINED) == pytest.approx(227 / 768)
    # the tie listed the other way round (treated stayer first) gives the same figures
    swap = [0, 2, 1, 3, 4, 5, 6, 7]
    listed = [np.take(a, swap) for a in (SCORE, TREATED, RETAINED)]
    assert qini_coefficient(*listed) == pytest.approx(23 / 192)
    assert auuc(*listed) == pytest.approx(227 / 768)


def _experiment(seed: int, effect, customers: int = 40_000):
    """Random arms; retention 0.6 in the holdout plus `effect(x)` when treated, x ~ U(0, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.random(customers)
    treated = rng.random(customers) < 0.5
    retained = rng.random(customers) < 0.6 + treated * effect(x)
    return x, treated, retained


def test_random_scores_give_no_qini_under_a_constant_effect():
    x, treated, retained = _experiment(1, lambda x: 0.1 + 0 * x)
    random_score = np.random.default_rng(2).random(len(x))
    assert abs(qini_coefficient(random_score, treated, retained)) < 0.005
    # the area under the uplift curve of random targeting is the overall effect / 2
    assert auuc(random_score, treated, retained) == pytest.approx(0.1 / 2, abs=0.01)


def test_a_perfect_ranking_beats_a_reversed_one():
    x, treated, retained = _experiment(3, lambda x: 0.3 - 0.5 * x)  # +0.3 down to -0.2
    true_uplift = 0.3 - 0.5 * x
    perfect = qini_coefficient(true_uplift, treated, retained)
    reversed_ = qini_coefficient(-true_uplift, treated, retained)
    # qini counts the customers the offer kept among the treated targeted, half of those
    # targeted: Q(x) ≈ ½ ∫₀ˣ τ(s) ds with τ(s) = 0.3 − 0.5 s, so the coefficient is
    # ½ ∫₀¹ (0.3x − 0.25x² − 0.05x) dx = ½ (1/8 − 1/12) = 1/48 (reversed: −1/48)
    assert perfect == pytest.approx(1 / 48, abs=0.005)
    assert reversed_ == pytest.approx(-1 / 48, abs=0.005)
    assert auuc(true_uplift, treated, retained) > auuc(-true_uplift, treated, retained)


EFFECT = {"failing_payments": 0.3, "dormant": -0.2, "other": 0.0}
# assigned_at per campaign: ids out of time order, so "latest" cannot be read off the id
CAMPAIGNS = {"spring-b": "2025-01-15", "summer-c": "2025-04-15", "autumn-a": "2025-07-15"}


def _assignments(seed: int, customers: int = 4000) -> pd.DataFrame:
    """Churn-features rows assigned at random to an offer that keeps customers with failed
    payments (+0.3 retention), drives dormant ones away (-0.2: a reminder of an unused
    subscription) and does nothing for the rest. A contract-type trait carries no effect."""
    rng = np.random.default_rng(seed)
    failed = np.where(rng.random(customers) < 0.3, rng.integers(1, 4, customers), 0)
    dormant = (failed == 0) & (rng.random(customers) < 0.35)
    group = np.select([failed > 0, dormant], ["failing_payments", "dormant"], "other")
    baseline_usage = rng.gamma(2.0, 20.0, customers)
    usage = np.where(dormant, 0, 1 + (baseline_usage * rng.uniform(0.3, 1.5, customers)).round())
    tenure = rng.integers(30, 900, customers)
    treated = rng.random(customers) < 0.5
    # without the offer failing payers and dormant customers leave more, long tenure less
    holdout_retention = pd.Series(group).map(
        {"failing_payments": 0.5, "dormant": 0.7, "other": 0.75}
    )
    holdout_retention = holdout_retention.to_numpy() + 0.1 * (tenure / 900 - 0.5)
    effect = pd.Series(group).map(EFFECT).to_numpy()
    retained = rng.random(customers) < holdout_retention + treated * effect
    campaign = rng.choice(list(CAMPAIGNS), customers)
    assigned_at = pd.to_datetime(pd.Series(campaign).map(CAMPAIGNS))
    mrr = rng.gamma(2.0, 50.0, customers).round(2)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(customers)],
            "campaign_id": campaign,
            "assigned_at": assigned_at,
            "cutoff_at": assigned_at,
            "arm": np.where(treated, "treatment", "holdout"),
            OUTCOME: retained,
            "tenure_days": tenure,
            "mrr": mrr,
            "mrr_one_horizon_before": mrr * rng.uniform(0.8, 1.2, customers),
            "active_subscriptions": 1,
            "has_annual_plan": rng.random(customers) < 0.2,
            "primary_tier": rng.choice(["starter", "pro"], customers),
            "has_discount": False,
            "usage_last_30_days": usage,
            "usage_baseline_per_30_days": baseline_usage,
            "failed_payments_last_90_days": failed,
            "tickets_last_90_days": rng.poisson(0.5, customers),
            "low_satisfaction_tickets_last_90_days": 0,
            "avg_satisfaction_last_90_days": np.nan,
            "avg_sentiment_last_90_days": np.nan,
            "campaign_engagements_last_90_days": rng.poisson(1.0, customers),
            "campaign_unsubscribes_last_90_days": 0,
            "trait:contract_type": rng.choice(["month_to_month", "annual"], customers),
            "true_group": group,  # not a model input: the oracle to compare with
            "true_uplift": effect,
        }
    )


def _arms(frame: pd.DataFrame):
    return (frame["arm"] == "treatment").to_numpy(), frame[OUTCOME].to_numpy()


@pytest.fixture(scope="module")
def assignments() -> pd.DataFrame:
    return _assignments(seed=11)


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    """Another campaign sample from the same world, never fitted on."""
    return _assignments(seed=12)


@pytest.mark.parametrize("kind", CANDIDATES)
def test_each_learner_recovers_the_effect_by_group(assignments, fresh, kind):
    fitted = fit_uplift(assignments, *_arms(assignments), kind)
    predicted = pd.Series(fitted.uplift(fresh)).groupby(fresh["true_group"]).mean()
    tolerance = 0.1 if kind.startswith("t_") else 0.12
    for group, effect in EFFECT.items():
        assert predicted[group] == pytest.approx(effect, abs=tolerance), group
    # the T-learner's uplift is by construction the difference of its two retentions
    if kind.startswith("t_"):
        difference = fitted.retention_treated(fresh) - fitted.retention_holdout(fresh)
        np.testing.assert_allclose(fitted.uplift(fresh), difference)


def test_choose_validates_on_the_latest_campaign_and_its_choice_generalises(assignments, fresh):
    kind, qini = choose(assignments)
    assert set(qini) == set(CANDIDATES) and qini[kind] == max(qini.values())
    # the validation campaign is autumn-a (July), every candidate fitted on the two before
    earlier = assignments[assignments["campaign_id"] != "autumn-a"].reset_index(drop=True)
    latest = assignments[assignments["campaign_id"] == "autumn-a"].reset_index(drop=True)
    t_logistic = fit_uplift(earlier, *_arms(earlier), "t_logistic").uplift(latest)
    assert qini["t_logistic"] == pytest.approx(qini_coefficient(t_logistic, *_arms(latest)))
    # refitted on every campaign, the chosen learner ranks a fresh sample better than random,
    # and nearly as well as the true effect does
    chosen = fit_uplift(assignments, *_arms(assignments), kind).uplift(fresh)
    achieved = qini_coefficient(chosen, *_arms(fresh))
    assert achieved > 0
    assert achieved > 0.8 * qini_coefficient(fresh["true_uplift"], *_arms(fresh))


def test_equal_validation_qini_goes_to_the_simpler_learner():
    assert _simplest_best(dict.fromkeys(CANDIDATES, 0.0)) == "t_logistic"
    assert _simplest_best({**dict.fromkeys(CANDIDATES, 0.01), "x_boosting": 0.02}) == "x_boosting"
    tied = {"t_logistic": 0.0, "x_logistic": 0.0, "t_boosting": 0.03, "x_boosting": 0.03}
    assert _simplest_best(tied) == "t_boosting"


def test_an_arm_where_everyone_stayed_still_fits(assignments):
    rows = assignments.head(400).reset_index(drop=True)
    treated, retained = _arms(rows)
    retained = retained | ~treated  # every holdout customer stayed
    for kind in ("t_logistic", "x_boosting"):
        fitted = fit_uplift(rows, treated, retained, kind)
        np.testing.assert_allclose(fitted.retention_holdout(rows), 1.0)
        assert np.isfinite(fitted.uplift(rows)).all()
