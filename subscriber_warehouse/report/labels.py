"""Plain words for the marts' internal codes, and the billing intervals' lengths in months."""

from __future__ import annotations

# fct_customer_mrr_monthly.churn_reason codes whose snake_case does not read as English
CHURN_REASONS = {
    "not_canceled": "lapsed or paused",  # MRR ended without a cancel (paused, back to trial)
    "payment_failed": "payment failed",
    "unspecified": "no reason given",
}
AUDIENCES = {
    "audience_at_risk_high_value": "high value at risk",
    "audience_win_back": "win back",
    "audience_dunning": "dunning (failed payment)",
    "audience_trial_not_converted": "trial not converted",
    "audience_upsell": "upsell",
    "audience_re_engage": "re-engage",
}
PREFERRED_CHANNELS = {"email": "e-mail", "sms": "SMS", "none": "no consent"}
# marts.mrr_forecast.scenario: the base forecast, and the two what-ifs it was re-run with
FORECAST_SCENARIOS = {
    "base": "base forecast",
    "churn_minus_10pct": "churn 10% lower",
    "new_mrr_plus_10pct": "new MRR 10% higher",
}
# marts.mrr_forecast_backtest.model: the forecast and the naive baselines it is measured against
FORECAST_MODELS = {
    "forecast": "forecast",
    "last_value": "last value",
    "linear_trend_6m": "linear trend of the last 6 months",
}
# marts.uplift_model_evaluation.targeting: who a campaign contacts first, by which score
TARGETINGS = {"uplift": "uplift model", "churn_risk": "churn risk", "random": "random"}
# uplift_model_evaluation.model of the uplift row: the learner (subscriber_warehouse/uplift)
UPLIFT_LEARNERS = {
    "t_logistic": "T-learner, logistic regression",
    "x_logistic": "X-learner, logistic regression",
    "t_boosting": "T-learner, gradient-boosted trees",
    "x_boosting": "X-learner, gradient-boosted trees",
}
# marts.next_best_action.action, in the order the page lists them
ACTIONS = {
    "retention_offer": "retention offer",
    "upsell_prompt": "upsell prompt",
    "dunning_outreach": "dunning outreach",
    "nothing": "nothing",
}
# the months one billing period lasts: the inverse of dbt's monthly_factor macro (the factor MRR
# is normalised by), so a weekly plan's period is 12/52 of a month
MONTHS_PER_INTERVAL = {"day": 12 / 365, "week": 12 / 52, "month": 1.0, "year": 12.0}
ADVERBS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}


def words(code: str) -> str:
    """snake_case as words: 'paid_search' -> 'paid search'."""
    return code.replace("_", " ")


def churn_reason(code: str) -> str:
    return CHURN_REASONS.get(code, words(code))


def audience(name: str) -> str:
    """An audience mart's name, or the audience as assignments name it ('win_back')."""
    name = name if name.startswith("audience_") else f"audience_{name}"
    return AUDIENCES.get(name, words(name.removeprefix("audience_")))


def preferred_channel(code: str) -> str:
    return PREFERRED_CHANNELS.get(code, words(code))


def forecast_scenario(code: str) -> str:
    return FORECAST_SCENARIOS.get(code, words(code))


def forecast_model(code: str) -> str:
    return FORECAST_MODELS.get(code, words(code))


def targeting(code: str) -> str:
    return TARGETINGS.get(code, words(code))


def uplift_learner(code: str) -> str:
    return UPLIFT_LEARNERS.get(code, words(code))


def action(code: str) -> str:
    return ACTIONS.get(code, words(code))


def billing_interval(segment: str) -> tuple[str, int] | None:
    """A model segment of retention_projection ('month-3': subscription_lifetimes.segment, the
    interval and its count) as (interval, count); None for 'pooled', which mixes intervals."""
    interval, _, count = segment.rpartition("-")
    if interval not in MONTHS_PER_INTERVAL or not count.isdigit():
        return None
    return interval, int(count)


def months_per_period(segment: str) -> float | None:
    parsed = billing_interval(segment)
    return None if parsed is None else MONTHS_PER_INTERVAL[parsed[0]] * parsed[1]


def billing_interval_label(segment: str) -> str:
    parsed = billing_interval(segment)
    if parsed is None:
        return words(segment)
    interval, count = parsed
    return ADVERBS[interval] if count == 1 else f"every {count} {interval}s"
