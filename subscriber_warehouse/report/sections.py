"""What the report shows, in order: sections of charts built from the loaded marts."""

from __future__ import annotations

from dataclasses import dataclass, field

import plotly.graph_objects as go

from subscriber_warehouse.report import audience_charts as audience
from subscriber_warehouse.report import customer_charts as customer
from subscriber_warehouse.report import revenue_charts as revenue
from subscriber_warehouse.report.data import ReportData
from subscriber_warehouse.report.tiles import month_label


@dataclass(frozen=True)
class Chart:
    title: str
    figure: go.Figure
    wide: bool = False  # spans the page's width (heatmaps with a column per month)


@dataclass
class Section:
    key: str
    title: str
    note: str  # one line on how to read it
    charts: dict[str, Chart] = field(default_factory=dict)  # chart id (unique on the page)
    missing: list[str] = field(default_factory=list)  # marts it would draw but cannot find


def build_sections(data: ReportData) -> list[Section]:
    metrics = data["metrics"]
    as_of = month_label(metrics["month_start"].iloc[-1])
    sections = [
        Section(
            "revenue",
            "MRR",
            "Movements stack above (gains) and below (losses) zero; the line is net new MRR.",
            {
                "mrr-movements": Chart("MRR movements by month", revenue.mrr_movements(metrics)),
                "mrr-bridge": Chart(f"MRR bridge, {as_of}", revenue.mrr_bridge(metrics)),
            },
        ),
        Section(
            "churn",
            "Churn",
            "Logo churn = churned / customers at month start; net MRR churn below zero means "
            "expansion outgrew losses. Involuntary churn is a cancel for a failed payment.",
            {
                "churn-trend": Chart("Logo and revenue churn rate", revenue.churn_trend(metrics)),
                "churn-voluntary": Chart(
                    "Churned MRR: voluntary vs involuntary", revenue.voluntary_involuntary(metrics)
                ),
                "churn-reasons": Chart(
                    "Churned customers by reason",
                    revenue.churn_reasons(data["churn_reasons"]),
                    wide=True,
                ),
            },
        ),
        Section(
            "cohorts",
            "Cohort retention",
            "Each row is the customers whose first paying month it was; revenue retention above "
            "100% means the survivors expanded more than the leavers took away.",
            {
                "cohort-logo": Chart(
                    "Logo retention by cohort (customers in brackets)",
                    customer.cohort_heatmap(data["cohorts"], "logo_retention"),
                    wide=True,
                ),
                "cohort-revenue": Chart(
                    "Revenue retention by cohort",
                    customer.cohort_heatmap(data["cohorts"], "revenue_retention"),
                    wide=True,
                ),
            },
        ),
        Section(
            "trials",
            "Trials",
            "By the month the trial began; the latest months are still converting.",
            {
                "trial-conversion": Chart(
                    "Trial conversion by trial-start month",
                    revenue.trial_conversion(data["trials"]),
                    wide=True,
                )
            },
        ),
        _value_section(data),
        _risk_section(data),
        Section(
            "acquisition",
            "Acquisition",
            "CAC = campaign spend / paying customers acquired; LTV:CAC uses the formula LTV, "
            "the historical ratio the net revenue those customers have paid so far.",
            {
                "acquisition": Chart(
                    "CAC and LTV:CAC by channel (campaigns with spend)",
                    audience.acquisition(data["acquisition"]),
                    wide=True,
                )
            },
        ),
    ]
    return sections


def _value_section(data: ReportData) -> Section:
    predicted = data["clv_predicted"]
    section = Section(
        "value",
        "Customer lifetime value",
        "Formula CLV = current MRR × expected lifetime; the sBG model values what a subscriber "
        "still has to pay, per billing interval, from observed renewals.",
        {
            "clv-distribution": Chart(
                "CLV distribution of paying customers",
                customer.clv_distribution(
                    data["clv_formula"]["value"], None if predicted is None else predicted["value"]
                ),
            )
        },
    )
    if predicted is None:
        section.missing.append("clv_predictions")
    projection = data["retention_projection"]
    if projection is None:
        section.missing.append("retention_projection")
    else:
        section.charts["retention-projection"] = Chart(
            "Survival by billing interval: observed (dots, where at least "
            f"{customer.MIN_AT_RISK} at risk) vs sBG projection (dashes)",
            customer.retention_projection(projection),
        )
    return section


def _risk_section(data: ReportData) -> Section:
    section = Section(
        "risk",
        "Churn risk and audiences",
        "Scored customers by risk tier, the value × risk segments, and the audiences exported "
        "for campaigns, by the channel each customer prefers.",
    )
    if data["risk_tiers"] is None:
        section.missing.append("churn_risk_scores")
    else:
        section.charts["risk-tiers"] = Chart(
            "Customers by churn-risk tier", audience.risk_tiers(data["risk_tiers"])
        )
        section.charts["risk-probability"] = Chart(
            "Distribution of churn probability",
            audience.risk_probabilities(data["risk_probabilities"]),
        )
    if data["segments"] is None:
        section.missing.append("customer_segments")
    else:
        section.charts["value-risk"] = Chart(
            "Customers by value tier × risk tier", audience.value_risk_matrix(data["segments"])
        )
    if data.audiences is None:
        section.missing.append("audience_*")
    else:
        section.charts["audiences"] = Chart(
            "Audience sizes by preferred channel", audience.audiences(data.audiences)
        )
    return section
