"""The great-expectations suites of the metric marts BI reads."""

from __future__ import annotations

import great_expectations.expectations as gxe

from quality.checks import Check
from quality.config import MRR_JUMP_FACTOR, MRR_JUMP_MIN_CUSTOMERS

RATES_0_1 = [
    "logo_churn_rate",
    "logo_churn_rate_incl_new",
    "gross_mrr_churn_rate",
    "gross_revenue_retention",
    "subscription_churn_rate",
]
MOVEMENTS = ["new", "expansion", "contraction", "churn", "reactivation", "retained"]


def _between(columns, low=None, high=None):
    return lambda: [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=low, max_value=high) for c in columns
    ]


METRICS = "marts.subscription_metrics_monthly"
CUSTOMER_MRR = "marts.fct_customer_mrr_monthly"
COHORTS = "marts.cohort_retention_monthly"
CHURN_SCORES = "marts.churn_risk_scores"
RISK_TIERS = ["high", "medium", "low"]
# the subscription marts are empty for a business that sells one-off purchases only
HAS_SUBSCRIPTIONS = "select exists (select 1 from marts.fct_subscription_periods)"

MART_SUITES: dict[str, list[Check]] = {
    "subscription_metrics_monthly": [
        Check(
            "bridge",
            "bridge",
            f"""select month_start, mrr_end - (mrr_start + new_mrr + expansion_mrr
                + reactivation_mrr - contraction_mrr - churned_mrr) as bridge_residual
            from {METRICS}""",
            _between(["bridge_residual"], 0, 0),
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
        Check(
            "rate_bounds",
            "rate_bounds",
            f"select {', '.join(RATES_0_1)}, net_revenue_retention from {METRICS}",
            lambda: _between(RATES_0_1, 0, 1)() + _between(["net_revenue_retention"], 0)(),
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
        Check(
            "non_negative_mrr",
            "non_negative_mrr",
            f"select mrr_start, mrr_end from {METRICS}",
            _between(["mrr_start", "mrr_end"], 0),
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
        # plausibility: a month whose MRR grew beyond MRR_JUMP_FACTOR (a plan at
        # 999,999,999,999.99 a month), once the business has MRR_JUMP_MIN_CUSTOMERS
        Check(
            "mrr_jump",
            "mrr_jump",
            f"""select month_start, mrr_start, mrr_end, mrr_end / mrr_start as growth
            from {METRICS}
            where mrr_start > 0 and customers_start >= {MRR_JUMP_MIN_CUSTOMERS}""",
            _between(["growth"], 0, MRR_JUMP_FACTOR),
        ),
    ],
    "fct_customer_mrr_monthly": [
        Check(
            "non_negative_mrr",
            "non_negative_mrr",
            f"select mrr, mrr_previous from {CUSTOMER_MRR}",
            _between(["mrr", "mrr_previous"], 0),
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
        Check(
            "unique_grain",
            "unique_grain",
            f"select customer_id, month_start, movement from {CUSTOMER_MRR}",
            lambda: [
                gxe.ExpectCompoundColumnsToBeUnique(column_list=["customer_id", "month_start"]),
                gxe.ExpectColumnValuesToBeInSet(column="movement", value_set=MOVEMENTS),
                gxe.ExpectColumnValuesToNotBeNull(column="movement"),
            ],
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
    ],
    "cohort_retention_monthly": [
        Check(
            "cohort_sizes",
            "cohort_sizes",
            f"""select cohort_month, min(cohort_customers) as smallest,
                max(cohort_customers) as largest
            from {COHORTS} group by cohort_month""",
            lambda: [gxe.ExpectColumnPairValuesToBeEqual(column_A="smallest", column_B="largest")],
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
        Check(
            "rate_bounds",
            "rate_bounds",
            f"select logo_retention, revenue_retention from {COHORTS}",
            lambda: _between(["logo_retention"], 0, 1)() + _between(["revenue_retention"], 0)(),
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
    ],
    "churn_risk_scores": [
        Check(
            "probability_bounds",
            "probability_bounds",
            f"select customer_id, churn_probability, risk_tier from {CHURN_SCORES}",
            lambda: (
                _between(["churn_probability"], 0, 1)()
                + [
                    gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
                    gxe.ExpectColumnValuesToBeInSet(column="risk_tier", value_set=RISK_TIERS),
                    gxe.ExpectColumnValuesToNotBeNull(column="churn_probability"),
                ]
            ),
            min_rows=0,
        ),
        Check(
            "coverage",
            "coverage",
            # every subscriber paying now is scored, unless no model could be fitted yet (a
            # short history: the evaluation is empty and the asset says why)
            f"""select case when (select count(*) from marts.churn_model_evaluation) = 0 then 0
                else (select count(*) from marts.churn_features where is_scoring_cutoff)
                - (select count(*) from {CHURN_SCORES}) end as unscored_subscribers""",
            _between(["unscored_subscribers"], 0, 0),
            min_rows=1,
        ),
    ],
    "uplift_scores": [
        Check(
            "probability_bounds",
            "probability_bounds",
            """select customer_id, retention_if_treated, retention_if_not, uplift,
                uplift - (retention_if_treated - retention_if_not) as uplift_error
            from marts.uplift_scores""",
            lambda: (
                _between(["retention_if_treated", "retention_if_not"], 0, 1)()
                + _between(["uplift"], -1, 1)()
                + _between(["uplift_error"], -1e-9, 1e-9)()
                + [gxe.ExpectColumnValuesToBeUnique(column="customer_id")]
            ),
            min_rows=0,
        ),
        Check(
            "coverage",
            "coverage",
            # every subscriber paying now is scored, unless no experiment could be learned from
            # (the evaluation is empty and the asset says why)
            """select case when (select count(*) from marts.uplift_model_evaluation) = 0 then 0
                else (select count(*) from marts.churn_features where is_scoring_cutoff)
                - (select count(*) from marts.uplift_scores) end as unscored_subscribers""",
            _between(["unscored_subscribers"], 0, 0),
            min_rows=1,
        ),
    ],
    "clv_predictions": [
        Check(
            "non_negative_value",
            "non_negative_value",
            """select subscription_id, predicted_residual_value,
                expected_residual_lifetime_periods from marts.clv_predictions""",
            lambda: (
                _between(["predicted_residual_value", "expected_residual_lifetime_periods"], 0)()
                + [gxe.ExpectColumnValuesToBeUnique(column="subscription_id")]
            ),
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
    ],
    "mrr_forecast": [
        # every interval holds its point, the 95 % one the 80 % one; nothing below zero
        Check(
            "interval_order",
            "interval_order",
            """select point - lower_80 as below_point, lower_80 - lower_95 as below_80,
                upper_80 - point as above_point, upper_95 - upper_80 as above_80, lower_95
            from marts.mrr_forecast""",
            _between(["below_point", "below_80", "above_point", "above_80", "lower_95"], 0),
            min_rows=1,
            applies_sql=HAS_SUBSCRIPTIONS,
        ),
    ],
    "purchase_clv_predictions": [
        Check(
            "probability_bounds",
            "probability_bounds",
            """select customer_id, probability_alive, expected_purchases, predicted_spend
            from marts.purchase_clv_predictions""",
            lambda: (
                _between(["probability_alive"], 0, 1)()
                + _between(["expected_purchases", "predicted_spend"], 0)()
                + [gxe.ExpectColumnValuesToBeUnique(column="customer_id")]
            ),
            min_rows=0,
        ),
    ],
}
