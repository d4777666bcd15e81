"""Reading the published warehouse's marts into the DataFrames the report draws."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from subscriber_warehouse.publish import open_published
from subscriber_warehouse.report.contract import DBT_PROJECT, MetricContract, load_contract


class ReportError(Exception):
    """The warehouse cannot be reported on (no file, or not a published warehouse)."""


# marts built by the churn-risk work; the report shows their sections only when they exist
AUDIENCES = (
    "audience_at_risk_high_value",
    "audience_win_back",
    "audience_dunning",
    "audience_trial_not_converted",
    "audience_upsell",
    "audience_re_engage",
)

_QUERIES = {
    "metrics": "select * from marts.subscription_metrics_monthly order by month_start",
    "cohorts": """
        select cohort_month, months_since_start, cohort_customers, logo_retention,
            revenue_retention
        from marts.cohort_retention_monthly
        order by cohort_month, months_since_start
    """,
    "churn_reasons": """
        select month_start, churn_type, churn_reason, churned_customers,
            cast(churned_mrr as double) as churned_mrr
        from marts.churn_reasons_monthly
        order by month_start, churn_type, churn_reason
    """,
    "trials": "select * from marts.trial_conversion_monthly order by trial_month",
    "clv_formula": """
        select customer_id, cast(formula_clv as double) as value
        from marts.customer_lifetime_value
        where is_paying
    """,
    "clv_predicted": """
        select customer_id, sum(predicted_residual_value) as value
        from marts.clv_predictions
        group by customer_id
    """,
    "retention_projection": """
        select model_segment, period, subscriptions_at_risk, observed_survival,
            projected_survival
        from marts.retention_projection
        order by model_segment, period
    """,
    # CAC exists only where a campaign carried spend: channel totals over those campaigns
    "acquisition": """
        select acquisition_channel,
            sum(customers_acquired) as customers_acquired,
            sum(paying_customers) as paying_customers,
            sum(cast(spend as double)) as spend,
            sum(cast(spend as double)) / nullif(sum(paying_customers), 0) as cac,
            -- the channel's own formula LTV (dbt: int_channels__formula_ltv), one per channel
            max(channel_formula_ltv) as channel_ltv,
            max(channel_formula_ltv) * sum(paying_customers)
                / nullif(sum(cast(spend as double)), 0) as ltv_to_cac,
            sum(avg_historical_net_revenue * paying_customers)
                / nullif(sum(cast(spend as double)), 0) as historical_ltv_to_cac
        from marts.acquisition_performance
        where spend > 0
        group by acquisition_channel
        order by acquisition_channel
    """,
    # tiers are by rank (churn/model.py), so a tier's probability range is read off its scores
    "risk_tiers": """
        select risk_tier, count(*) as customers, avg(churn_probability) as avg_probability,
            min(churn_probability) as lowest_probability,
            max(churn_probability) as highest_probability
        from marts.churn_risk_scores
        group by risk_tier
    """,
    "risk_probabilities": "select churn_probability, risk_tier from marts.churn_risk_scores",
    "segments": """
        select value_tier, risk_tier, count(*) as customers
        from marts.customer_segments
        group by value_tier, risk_tier
    """,
    "purchases": """
        select customer_id, repeat_purchase_weeks, recency_weeks, age_weeks, probability_alive,
            predicted_spend, horizon_weeks
        from marts.purchase_clv_predictions
    """,
    # the forecast from the newest as-of month only: the page continues the actuals it shows
    "mrr_forecast": """
        select origin_month, month_start, months_ahead, metric, scenario, point,
            lower_80, upper_80, lower_95, upper_95
        from marts.mrr_forecast
        where origin_month = (select max(origin_month) from marts.mrr_forecast)
        order by metric, scenario, month_start
    """,
    "mrr_forecast_backtest": """
        select model, months_ahead, origins, mape, bias, coverage_80, coverage_95
        from marts.mrr_forecast_backtest
        order by months_ahead, model
    """,
    # every campaign × audience × offer × window, the oldest campaign first; amounts as doubles
    "campaign_lift": """
        select campaign_id, audience, offer, assigned_at, window_days, measured_at,
            is_window_complete, customers_treatment, customers_holdout,
            paying_at_assignment_treatment, paying_at_assignment_holdout,
            retained_treatment, retained_holdout,
            retention_rate_treatment, retention_rate_holdout,
            retention_lift, retention_lift_lower_95, retention_lift_upper_95,
            incremental_customers,
            cast(incremental_mrr as double) as incremental_mrr,
            cast(offer_cost as double) as offer_cost,
            cast(cost_per_saved_customer as double) as cost_per_saved_customer
        from marts.campaign_lift
        order by assigned_at, campaign_id, audience, offer, window_days
    """,
    "uplift_evaluation": """
        select targeting, model, train_campaigns, test_campaign, customers_treatment,
            customers_holdout, qini_coefficient, auuc, target_share,
            incremental_mrr_per_1000_contacted, validation_qini
        from marts.uplift_model_evaluation
        order by targeting
    """,
    # per action: its subscribers, their expected value, and those the uplift model says a
    # contact would push out (uplift < 0), whom the mart never sends a retention offer
    "next_best_actions": """
        select action, count(*) as subscribers,
            coalesce(sum(cast(expected_value as double)), 0) as expected_value,
            count(uplift) as scored, count_if(uplift < 0) as pushed_out
        from marts.next_best_action
        group by action
        order by action
    """,
}

_REQUIRED = {
    "metrics": "subscription_metrics_monthly",
    "cohorts": "cohort_retention_monthly",
    "churn_reasons": "churn_reasons_monthly",
    "trials": "trial_conversion_monthly",
    "clv_formula": "customer_lifetime_value",
    "acquisition": "acquisition_performance",
}
# frame -> the marts it reads beyond the required ones: without them it is None
OPTIONAL = {
    "clv_predicted": ("clv_predictions",),
    "retention_projection": ("retention_projection",),
    "risk_tiers": ("churn_risk_scores",),
    "risk_probabilities": ("churn_risk_scores",),
    "segments": ("customer_segments",),
    "purchases": ("purchase_clv_predictions",),
    "mrr_forecast": ("mrr_forecast",),
    "mrr_forecast_backtest": ("mrr_forecast_backtest",),
    "campaign_lift": ("campaign_lift",),
    "uplift_evaluation": ("uplift_model_evaluation",),
    "next_best_actions": ("next_best_action",),
}


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; a frame is None when its mart is not in the warehouse, and
    empty when the business landed nothing that fills it (e.g. no subscriptions at all)."""

    frames: dict[str, pd.DataFrame | None]
    audiences: pd.DataFrame | None  # audience, preferred_channel, customers
    published_at: str  # from audit.publication, so the page never shows the machine's clock
    contract: MetricContract  # the reporting currency and the formula LTV's parameters
    marts: frozenset[str] = frozenset()  # the tables of the file's marts schema
    # the newest event the warehouse holds (UTC), None when no mart records one
    data_as_of: datetime | None = None

    def __getitem__(self, name: str) -> pd.DataFrame | None:
        return self.frames[name]

    @property
    def subscribed(self) -> bool:
        """Whether the business has subscriptions: a one-off-only one has no metric months."""
        return not self.frames["metrics"].empty


def load(warehouse: Path) -> ReportData:
    if not Path(warehouse).is_file():
        raise ReportError(f"no warehouse at {warehouse}")
    if not DBT_PROJECT.is_file():
        raise ReportError(f"no dbt project at {DBT_PROJECT}: the report reads its metric vars")
    con = open_published(warehouse)
    try:
        con.execute("set TimeZone = 'UTC'")
        return _read(con)
    finally:
        con.close()


def _read(con: duckdb.DuckDBPyConnection) -> ReportData:
    tables = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }
    absent = [t for t in _REQUIRED.values() if t not in tables]
    if absent:
        raise ReportError(f"not a published warehouse: no marts.{', marts.'.join(absent)}")
    frames: dict[str, pd.DataFrame | None] = {}
    for name, sql in _QUERIES.items():
        usable = all(t in tables for t in OPTIONAL.get(name, ()))
        frames[name] = con.execute(sql).df() if usable else None
    present = [a for a in AUDIENCES if a in tables]
    return ReportData(
        frames=frames,
        audiences=_audiences(con, present) if present else None,
        published_at=_published_at(con),
        contract=load_contract(DBT_PROJECT),
        marts=frozenset(tables),
        data_as_of=_data_as_of(con),
    )


# the as-of instants (int_as_of) as the marts publish them: the latest subscription event, and
# the latest billing record of any kind (one-off purchases' calibration end, when there are any)
AS_OF_COLUMNS = (("dim_subscribers", "as_of_at"), ("one_off_purchases", "calibration_end_at"))


def _data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    present = set(
        con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts'"
        ).fetchall()
    )
    instants = [
        con.execute(f"select max({column}) from marts.{table}").fetchone()[0]
        for table, column in AS_OF_COLUMNS
        if (table, column) in present
    ]
    instants = [instant for instant in instants if instant is not None]
    # timestamps without a zone, in UTC by the raw contract
    return max(instants).replace(tzinfo=UTC) if instants else None


def _audiences(con: duckdb.DuckDBPyConnection, names: list[str]) -> pd.DataFrame:
    sql = " union all ".join(
        f"select '{name}' as audience, coalesce(preferred_channel, 'none') as preferred_channel, "
        f"count(*) as customers from marts.{name} group by all"
        for name in names
    )
    return con.execute(f"select * from ({sql}) order by audience, preferred_channel").df()


def _published_at(con: duckdb.DuckDBPyConnection) -> str:
    try:
        row = con.execute("select max(published_at) from audit.publication").fetchone()
    except duckdb.CatalogException:
        return ""
    return "" if row[0] is None else f"{row[0]:%Y-%m-%d %H:%M} UTC"
