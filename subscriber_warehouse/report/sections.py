"""What the report shows, in order: sections of charts built from the loaded marts.

A business lands only the tables it has (one-off sales without subscriptions, subscriptions
without campaigns or trials), so a chart whose mart is absent or empty is not drawn: its section
says instead what is missing and what would fill it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from subscriber_warehouse.clv.contractual import MIN_SUBSCRIPTIONS
from subscriber_warehouse.clv.purchases import HORIZON_WEEKS, MIN_CUSTOMERS, MIN_REPEAT_CUSTOMERS
from subscriber_warehouse.report import audience_charts as audience
from subscriber_warehouse.report import customer_charts as customer
from subscriber_warehouse.report import experiment_charts as experiments
from subscriber_warehouse.report import forecast_charts as forecast
from subscriber_warehouse.report import labels
from subscriber_warehouse.report import purchase_charts as purchase
from subscriber_warehouse.report import revenue_charts as revenue
from subscriber_warehouse.report.contract import MetricContract
from subscriber_warehouse.report.data import ReportData
from subscriber_warehouse.report.tiles import format_rate, month_label


@dataclass(frozen=True)
class Chart:
    title: str
    figure: go.Figure
    wide: bool = False  # spans the page's width (heatmaps with a column per month)


@dataclass(frozen=True)
class Notice:
    """Said in place of charts that cannot be drawn: "headline: detail"."""

    headline: str  # what is missing, e.g. "No subscription data"
    detail: str  # which charts it leaves out and what would fill them
    mart: str | None = None  # set when the mart is absent from the file (detail names it)

    @property
    def text(self) -> str:
        return f"{self.headline}: {self.detail}"


@dataclass
class Section:
    key: str
    title: str
    note: str  # one line on how to read it
    charts: dict[str, Chart] = field(default_factory=dict)  # chart id (unique on the page)
    notices: list[Notice] = field(default_factory=list)  # in place of the charts not drawn

    @property
    def missing(self) -> list[str]:
        """The marts it would draw but cannot find in the file."""
        return [n.mart for n in self.notices if n.mart]

    def absent(self, mart: str) -> None:
        self.notify(Notice("Not in this warehouse yet", f"marts.{mart}", mart))

    def notify(self, notice: Notice) -> None:
        # two charts left out for one reason get one notice
        if notice not in self.notices:
            self.notices.append(notice)


RAW_CONTRACT = "docs/raw-contract.md"


def no_subscriptions(charts: str) -> Notice:
    """`charts` ends in its verb: "MRR movements need", "cohort retention needs"."""
    return Notice("No subscription data", f"{charts} subscription_events ({RAW_CONTRACT})")


def build_sections(data: ReportData) -> list[Section]:
    sections = [
        _revenue_section(data),
        _churn_section(data),
        _cohort_section(data),
        _trial_section(data),
        _value_section(data),
    ]
    # a warehouse published before the MRR forecast was modelled has no such section at all,
    # nor a business without subscriptions: it has no MRR to forecast
    if data["mrr_forecast"] is not None and data.subscribed:
        sections.append(_forecast_section(data))
    sections.append(_risk_section(data))
    # a warehouse published before the retention experiments were modelled has no such section,
    # nor a business that has no campaign, no uplift model and no subscriber to act on
    if any(frame is not None and not frame.empty for frame in _experiment_frames(data)):
        sections.append(_experiment_section(data))
    sections.append(_acquisition_section(data))
    # a warehouse published before one-off purchases were modelled has no such section at all
    if data["purchases"] is not None:
        sections.append(_purchase_section(data["purchases"], data.contract.currency))
    return sections


def _revenue_section(data: ReportData) -> Section:
    section = Section(
        "revenue",
        "MRR",
        "Movements stack above (gains) and below (losses) zero; the line is net new MRR.",
    )
    if not data.subscribed:
        section.notify(no_subscriptions("MRR movements and the MRR bridge need"))
        return section
    metrics, currency = data["metrics"], data.contract.currency
    as_of = month_label(metrics["month_start"].iloc[-1])
    section.charts["mrr-trend"] = Chart(
        f"MRR and ARR at month end ({currency})", revenue.mrr_trend(metrics, currency)
    )
    section.charts["mrr-movements"] = Chart(
        f"MRR movements by month ({currency})", revenue.mrr_movements(metrics, currency)
    )
    section.charts["mrr-bridge"] = Chart(
        f"MRR bridge, {as_of} ({currency})", revenue.mrr_bridge(metrics, currency)
    )
    return section


def _churn_section(data: ReportData) -> Section:
    section = Section(
        "churn",
        "Churn",
        "Logo churn = churned / customers at month start; net MRR churn below zero means "
        "expansion outgrew losses. Involuntary churn is a cancel for a failed payment.",
    )
    if not data.subscribed:
        section.notify(no_subscriptions("churn rates and churn reasons need"))
        return section
    metrics = data["metrics"]
    section.charts["churn-trend"] = Chart(
        "Logo and revenue churn rate", revenue.churn_trend(metrics)
    )
    section.charts["churn-voluntary"] = Chart(
        f"Churned MRR: voluntary vs involuntary ({data.contract.currency})",
        revenue.voluntary_involuntary(metrics, data.contract.currency),
    )
    if data["churn_reasons"].empty:
        section.notify(
            Notice(
                "No churn yet",
                "churned customers by reason need canceled subscriptions (canceled "
                f"subscription_events, {RAW_CONTRACT})",
            )
        )
    else:
        section.charts["churn-reasons"] = Chart(
            "Churned customers by reason", revenue.churn_reasons(data["churn_reasons"]), wide=True
        )
    return section


def _cohort_section(data: ReportData) -> Section:
    section = Section(
        "cohorts",
        "Cohort retention",
        "Each row is the customers whose first paying month it was; revenue retention above "
        "100% means the survivors expanded more than the leavers took away.",
    )
    cohorts = data["cohorts"]
    if not data.subscribed:
        section.notify(no_subscriptions("cohort retention needs"))
    elif cohorts.empty:
        section.notify(
            Notice(
                "No paying cohorts",
                "cohort retention needs subscriptions that were paid for (active with MRR > 0 "
                f"in subscription_events, {RAW_CONTRACT})",
            )
        )
    else:
        section.charts["cohort-logo"] = Chart(
            "Logo retention by cohort, % (customers in brackets)",
            customer.cohort_heatmap(cohorts, "logo_retention"),
            wide=True,
        )
        section.charts["cohort-revenue"] = Chart(
            "Revenue retention by cohort, %",
            customer.cohort_heatmap(cohorts, "revenue_retention"),
            wide=True,
        )
    return section


def _trial_section(data: ReportData) -> Section:
    section = Section(
        "trials", "Trials", "By the month the trial began; the latest months are still converting."
    )
    if not data.subscribed:
        section.notify(no_subscriptions("trial conversion needs"))
    elif data["trials"].empty:
        section.notify(
            Notice(
                "No trials",
                "trial conversion needs subscriptions that start trialing (plans with "
                f"trial_days > 0, trial_started subscription_events; {RAW_CONTRACT})",
            )
        )
    else:
        section.charts["trial-conversion"] = Chart(
            "Trial conversion by trial-start month",
            revenue.trial_conversion(data["trials"]),
            wide=True,
        )
    return section


# the sBG model writes both of its marts from the same subscription lifetimes: empty together
NO_SBG_MODEL = Notice(
    "No sBG model",
    "predicted residual values and the survival projection need subscription lifetimes with "
    "a first payment (marts.subscription_lifetimes)",
)


# the pooled fit's periods mix interval lengths: it cannot be drawn on a months axis
NO_INTERVAL_FIT = Notice(
    "No billing interval with its own sBG fit",
    f"survival in months needs {MIN_SUBSCRIPTIONS} first paying spells on one billing interval "
    "(marts.subscription_lifetimes); fewer share the pooled fit, whose periods mix lengths",
)


def _value_section(data: ReportData) -> Section:
    section = Section(
        "value",
        "Customer lifetime value",
        "Formula CLV = current MRR × expected lifetime; the sBG model values what a subscriber "
        "still has to pay, per billing interval, from observed renewals.",
    )
    if not data.subscribed:
        section.notify(no_subscriptions("CLV and the survival projection need"))
        return section
    formula, predicted = data["clv_formula"]["value"], data["clv_predicted"]
    if predicted is None:
        section.absent("clv_predictions")
    elif predicted.empty:
        section.notify(NO_SBG_MODEL)
    predicted = None if predicted is None or predicted.empty else predicted["value"]
    if formula.empty and predicted is None:
        section.notify(
            Notice("No paying customers", "the CLV distribution needs a customer paying now")
        )
    else:
        section.charts["clv-distribution"] = Chart(
            "CLV distribution of paying customers",
            customer.clv_distribution(formula, predicted, data.contract.currency),
        )
    projection = data["retention_projection"]
    if projection is None:
        section.absent("retention_projection")
    elif projection.empty:
        section.notify(NO_SBG_MODEL)
    elif not any(labels.months_per_period(s) for s in projection["model_segment"]):
        section.notify(NO_INTERVAL_FIT)
    else:
        section.charts["retention-projection"] = Chart(
            "Survival by billing interval, in months: observed (dots, where at least "
            f"{customer.MIN_AT_RISK} at risk) vs sBG projection (dashes)",
            customer.retention_projection(projection),
        )
    return section


FORECAST_NOTE = (
    "Actual MRR, then the base forecast with its 80% and 95% intervals (the darker and the "
    "lighter band); dashed, the forecast with churn 10% lower or new MRR 10% higher. The "
    "backtest forecast earlier months and compared with what happened: MAPE is the mean "
    "absolute percentage error, a negative bias an under-forecast, coverage the share of "
    "actuals inside the interval."
)
NO_FORECAST = Notice(
    "No forecast",
    "too few months of MRR history to forecast from (marts.subscription_metrics_monthly); "
    "marts.mrr_forecast has no MRR rows",
)
NO_BACKTEST = Notice(
    "No backtest",
    "too few months of MRR history to forecast earlier months and compare with what happened; "
    "marts.mrr_forecast_backtest has no rows",
)


def _forecast_section(data: ReportData) -> Section:
    rows, backtest = data["mrr_forecast"], data["mrr_forecast_backtest"]
    mrr = rows[rows["metric"] == "mrr"]
    horizon = int(mrr["months_ahead"].max()) if len(mrr) else 12
    # the verdict is computed from the backtest rows, so the note says it only when there are some
    has_backtest = backtest is not None and not backtest.empty
    verdict = f" {forecast.backtest_verdict(backtest)}" if has_backtest else ""
    section = Section("forecast", f"MRR forecast, next {horizon} months", FORECAST_NOTE + verdict)
    currency = data.contract.currency
    if mrr.empty:
        section.notify(NO_FORECAST)
    else:
        section.charts["forecast-mrr"] = Chart(
            f"MRR: actual, and forecast for the next {horizon} months ({currency})",
            forecast.mrr_forecast(data["metrics"], mrr, currency),
        )
    if backtest is None:
        section.absent("mrr_forecast_backtest")
    elif backtest.empty:
        section.notify(NO_BACKTEST)
    else:
        section.charts["forecast-backtest"] = Chart(
            "Backtest: forecast error by months ahead, vs naive baselines",
            forecast.backtest_table(backtest),
        )
    return section


def _risk_section(data: ReportData) -> Section:
    section = Section(
        "risk",
        "Churn risk and audiences",
        "Scored customers by risk tier, the value × risk segments, and the audiences exported "
        "for campaigns, by the channel each customer prefers.",
    )
    tiers = data["risk_tiers"]
    if tiers is None:
        section.absent("churn_risk_scores")
    elif tiers.empty:
        # the model writes no scores rather than scores it could not backtest honestly
        section.notify(
            Notice(
                "No churn model",
                "too little churn history; churn-risk tiers and the value × risk segments need "
                "enough labelled churners at a backtest cutoff (docs/metrics.md, Churn risk)",
            )
        )
    else:
        section.charts["risk-tiers"] = Chart(
            "Customers by churn-risk tier and its probability range", audience.risk_tiers(tiers)
        )
        section.charts["risk-probability"] = Chart(
            "Distribution of churn probability, by tier",
            audience.risk_probabilities(data["risk_probabilities"], tiers),
        )
    segments = data["segments"]
    if segments is None:
        section.absent("customer_segments")
    elif not segments.empty:
        section.charts["value-risk"] = Chart(
            "Customers by value tier × risk tier", audience.value_risk_matrix(segments)
        )
    elif tiers is None or not tiers.empty:  # else the churn model's notice says why
        section.notify(Notice("No segments", "no scored customer is in marts.customer_segments"))
    if data.audiences is None:
        section.absent("audience_*")
    elif data.audiences.empty:
        section.notify(
            Notice(
                "No audiences",
                "no customer is in any marts.audience_* (they draw on churn-risk scores, "
                "payments, trials and usage; docs/metrics.md)",
            )
        )
    else:
        section.charts["audiences"] = Chart(
            "Audience sizes by preferred channel", audience.audiences(data.audiences)
        )
    return section


EXPERIMENTS_NOTE = (
    "Every campaign keeps a random holdout, members of its audience who are not contacted; the "
    "lift is the contacted (treatment) arm's retention rate minus the holdout's over the same "
    "window, so it is what the campaign itself did, in percentage points. Its 95% interval is "
    "Newcombe's hybrid Wilson score interval: one that spans zero has not shown an effect "
    "either way. The uplift model, which predicts whom an offer saves rather than who is likely "
    "to leave, is compared with targeting by churn risk and at random on a campaign it did not "
    "learn from."
)
NO_CAMPAIGNS = Notice(
    "No campaigns with a holdout",
    "measured lift needs campaign assignments to a treatment and a holdout arm "
    f"(campaign_assignments, {RAW_CONTRACT}); marts.campaign_lift has no rows",
)
# subscriber_warehouse/uplift/warehouse.py: evaluate() and MIN_ARM (not imported: scikit-learn
# would load with the report)
NO_UPLIFT_MODEL = Notice(
    "No uplift model",
    "it needs three campaigns with a 90-day outcome and 30 customers in each arm (to train, "
    "validate and test on); marts.uplift_model_evaluation has no rows",
)
NO_ACTIONS = Notice(
    "No next best action",
    "no subscriber is paying at the as-of instant; marts.next_best_action has no rows",
)


def _experiment_frames(data: ReportData) -> tuple[pd.DataFrame | None, ...]:
    return data["campaign_lift"], data["uplift_evaluation"], data["next_best_actions"]


def _experiment_section(data: ReportData) -> Section:
    lift, evaluation, actions = _experiment_frames(data)
    currency = data.contract.currency
    has_evaluation = evaluation is not None and not evaluation.empty
    verdict = f" {experiments.targeting_verdict(evaluation, currency)}" if has_evaluation else ""
    section = Section("experiments", "Retention experiments", EXPERIMENTS_NOTE + verdict)
    if lift is None:
        section.absent("campaign_lift")
    elif lift.empty:
        section.notify(NO_CAMPAIGNS)
    else:
        _lift_charts(section, lift, currency)
    if evaluation is None:
        section.absent("uplift_model_evaluation")
    elif evaluation.empty:
        section.notify(NO_UPLIFT_MODEL)
    else:
        rows = experiments.targetings(evaluation)
        test, share = rows["test_campaign"].iloc[0], format_rate(rows["target_share"].iloc[0], 0)
        learner = experiments.chosen_learner(rows)
        model = f"the uplift model ({learner})" if learner else "the uplift model"
        section.charts["experiments-targeting"] = Chart(
            f"Held-out campaign {test}: {model} vs churn risk vs random, the top {share} contacted",
            experiments.targeting_table(rows, currency),
        )
        section.charts["experiments-targeting-mrr"] = Chart(
            f"Incremental MRR retained per 1,000 contacted on {test} ({currency})",
            experiments.targeting_mrr(rows, currency),
        )
    if actions is None:
        section.absent("next_best_action")
    elif actions.empty:
        section.notify(NO_ACTIONS)
    else:
        section.charts["experiments-actions"] = Chart(
            experiments.actions_title(actions, currency),
            experiments.actions_table(actions, currency),
        )
    return section


def _lift_charts(section: Section, lift: pd.DataFrame, currency: str) -> None:
    """The longest window's lift per campaign, and the table of every complete window; a window
    still open has no outcomes yet (campaign_lift leaves them null)."""
    done = lift["is_window_complete"].fillna(False).astype(bool)
    complete, still_open = lift[done], lift[~done].sort_values(["measured_at", "campaign_id"])
    windows = experiments.windows_text(lift["window_days"])
    if complete.empty:
        first = still_open.iloc[0]
        section.notify(
            Notice(
                "No window complete yet",
                f"lift is measured {windows} days after a campaign's assignment and no window "
                f"has ended; the first, {first['campaign_id']}'s {int(first['window_days'])}-day "
                f"window, ends on {experiments.day_label(first['measured_at'])} "
                "(marts.campaign_lift)",
            )
        )
        return
    longest = int(lift["window_days"].max())
    shown = complete[(complete["window_days"] == longest) & complete["retention_lift"].notna()]
    if shown.empty:
        pending = still_open[still_open["window_days"] == longest]
        ends = (
            f"; the first ends on {experiments.day_label(pending['measured_at'].iloc[0])}"
            if len(pending)
            else ""
        )
        section.notify(
            Notice(
                f"No {longest}-day window complete yet",
                f"the lift chart needs a campaign assigned {longest} days before the as-of "
                f"instant{ends}; the table shows the shorter windows (marts.campaign_lift)",
            )
        )
    else:
        section.charts["experiments-lift"] = Chart(
            f"{longest}-day retention lift per campaign, in percentage points, with its 95% "
            "interval (green: above zero, red: below, grey: spans zero)",
            experiments.lift_chart(shown, longest),
            wide=True,
        )
    waiting = ""
    if len(still_open):
        count = len(still_open)
        waiting = (
            f"; {count:,} window{'s' if count > 1 else ''} still open, the next ends on "
            f"{experiments.day_label(still_open['measured_at'].iloc[0])}"
        )
    section.charts["experiments-lift-table"] = Chart(
        f"Measured lift per campaign and window ({currency}){waiting}",
        experiments.lift_table(complete, currency),
        wide=True,
    )


def _ltv_formula(contract: MetricContract) -> str:
    """dbt's formula LTV (macros/formula_ltv.sql) in words, with the project's parameters."""
    return (
        f"LTV = trailing ARPA × gross margin ({contract.gross_margin:g}) × expected lifetime; "
        f"over the last {contract.clv_trailing_months} months, ARPA = MRR / paying customers "
        "and lifetime = 1 / logo churn (churned / paying at month start), capped at "
        f"{contract.clv_max_lifetime_months} months"
    )


def _acquisition_section(data: ReportData) -> Section:
    contract = data.contract
    section = Section(
        "acquisition",
        "Acquisition",
        f"CAC = campaign spend / paying customers acquired, over campaigns with spend. LTV:CAC "
        f"divides each channel's own LTV by its CAC: the customers its campaigns with spend "
        f"acquired, {_ltv_formula(contract)} (the formula CLV of docs/metrics.md, per channel; "
        "acquisition_performance.channel_formula_ltv). "
        "Net revenue paid so far:CAC is what those customers have paid to date.",
    )
    channels = data["acquisition"]
    if channels.empty:
        section.notify(
            Notice(
                "No campaign spend",
                "CAC and LTV:CAC need campaigns with spend > 0 and the customers they acquired "
                f"(campaigns, customers.acquisition_campaign_id; {RAW_CONTRACT})",
            )
        )
        return section
    if channels["cac"].isna().all():
        section.notify(
            Notice(
                "No paying customers from campaigns",
                "CAC and LTV:CAC need paying subscriptions among the customers that campaigns "
                f"with spend acquired (subscription_events, {RAW_CONTRACT})",
            )
        )
        return section
    currency = contract.currency
    section.charts["acquisition-cac"] = Chart(
        f"CAC by channel ({currency}, campaigns with spend)",
        audience.acquisition_cac(channels, currency),
    )
    section.charts["acquisition-ltv-cac"] = Chart(
        "LTV:CAC by channel, from each channel's own LTV",
        audience.acquisition_ltv_to_cac(channels, currency),
    )
    return section


def _purchase_section(purchases: pd.DataFrame, currency: str) -> Section:
    horizon = int(purchases["horizon_weeks"].iloc[0]) if len(purchases) else HORIZON_WEEKS
    section = Section(
        "purchases",
        "One-off purchases",
        "Add-ons, top-ups and overage, bought without a contract: BG/NBD + Gamma-Gamma (Fader, "
        f"Hardie & Lee 2005) predicts each buyer's purchases over the next {horizon} weeks and "
        "spend per purchase.",
    )
    if purchases.empty:
        # purchases.py leaves its mart empty below these counts rather than fit on too few
        section.notify(
            Notice(
                "No purchase model",
                f"fewer than {MIN_CUSTOMERS} one-off buyers (or {MIN_REPEAT_CUSTOMERS} repeat "
                "buyers); more paid one-off invoices (invoices without a subscription_id, "
                f"{RAW_CONTRACT}) would fill it",
            )
        )
        return section
    section.charts["purchase-spend"] = Chart(
        f"Predicted spend per one-off buyer over the next {horizon} weeks ({currency})",
        purchase.spend_distribution(purchases["predicted_spend"], horizon, currency),
    )
    section.charts["purchase-alive"] = Chart(
        "P(alive) by recency, by repeat purchases", purchase.alive_by_recency(purchases)
    )
    return section
