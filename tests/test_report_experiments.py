"""The report's retention experiments section, on a hand-made warehouse: report_helpers' small
marts plus hand-made marts.campaign_lift, marts.uplift_model_evaluation and
marts.next_best_action rows (no pipeline run)."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from report_helpers import (
    make_small_warehouse,
    open_in_chromium,
    report_in_currency,
    small_tables,
    write_warehouse,
)

from subscriber_warehouse.report import data as report_data
from subscriber_warehouse.report import render_html, write_report
from subscriber_warehouse.report.experiment_charts import lift_text, points
from subscriber_warehouse.report.sections import NO_UPLIFT_MODEL, build_sections
from subscriber_warehouse.report.style import LIFT_COLOURS, TARGETING_COLOURS
from subscriber_warehouse.uplift.warehouse import MIN_ARM, TARGET_SHARE

ROOT = Path(__file__).resolve().parent.parent
CURRENCY = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"][
    "reporting_currency"
]
Z = 1.959964  # campaign_lift's z of a 95 % interval


def wilson(retained: int, n: int) -> tuple[float, float]:
    p = retained / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / (1 + Z**2 / n)
    return centre - half, centre + half


def newcombe(r1: int, n1: int, r2: int, n2: int) -> tuple[float, float]:
    """Newcombe's hybrid score interval of p1 − p2 (1998, method 10), rounded as the mart does."""
    p1, p2 = r1 / n1, r2 / n2
    (l1, u1), (l2, u2) = wilson(r1, n1), wilson(r2, n2)
    lower = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return round(lower, 4), round(upper, 4)


# 10 customers per arm, all paying at assignment, each of the same MRR; the offer's cost is the
# discount on the treated customers retained (MRR × discount × months), incremental MRR the lift
# × the treatment arm's MRR (every customer's MRR is unchanged, so MRR and logo rates agree)
# campaign, audience, offer, assigned, window, retained treatment / holdout, MRR each,
# discount × months
CAMPAIGNS = [
    ("cmp_a", "at_risk_high_value", "retention_20pct_3m", "2024-10-01", 30, 10, 6, 100.0, 0.6),
    ("cmp_a", "at_risk_high_value", "retention_20pct_3m", "2024-10-01", 90, 9, 4, 100.0, 0.6),
    ("cmp_b", "win_back", "win_back_50pct_1m", "2024-12-01", 30, 6, 5, 80.0, 0.5),
    ("cmp_b", "win_back", "win_back_50pct_1m", "2024-12-01", 90, 3, 5, 80.0, 0.5),
    ("cmp_c", "at_risk_high_value", "retention_20pct_3m", "2025-02-15", 30, 8, 8, 50.0, 0.6),
    # 90 days after 15 Feb 2025 is 16 May, after report_helpers' as-of instant (31 Mar 2025)
    ("cmp_c", "at_risk_high_value", "retention_20pct_3m", "2025-02-15", 90, None, None, 50.0, 0.6),
]
ARM = 10


def lift_row(campaign, audience, offer, assigned, window, r_t, r_h, mrr, discount) -> dict:
    assigned_at = pd.Timestamp(assigned)
    row = {
        "campaign_id": campaign,
        "audience": audience,
        "offer": offer,
        "assigned_at": assigned_at,
        "window_days": window,
        "measured_at": assigned_at + pd.Timedelta(days=window),
        "is_window_complete": r_t is not None,
        "customers_treatment": ARM,
        "customers_holdout": ARM,
        "paying_at_assignment_treatment": ARM,
        "paying_at_assignment_holdout": ARM,
        "mrr_at_assignment_treatment": ARM * mrr,
        "mrr_at_assignment_holdout": ARM * mrr,
    }
    outcomes = dict.fromkeys(
        (
            "retained_treatment",
            "retained_holdout",
            "retention_rate_treatment",
            "retention_rate_holdout",
            "retention_lift",
            "retention_lift_lower_95",
            "retention_lift_upper_95",
            "mrr_retained_treatment",
            "mrr_retained_holdout",
            "mrr_retention_rate_treatment",
            "mrr_retention_rate_holdout",
            "incremental_customers",
            "incremental_mrr",
            "offer_cost",
            "cost_per_saved_customer",
        )
    )
    if r_t is not None:
        rate_t, rate_h = r_t / ARM, r_h / ARM
        lower, upper = newcombe(r_t, ARM, r_h, ARM)
        saved = (r_t - r_h) / ARM * ARM
        cost = r_t * mrr * discount
        outcomes |= {
            "retained_treatment": r_t,
            "retained_holdout": r_h,
            "retention_rate_treatment": rate_t,
            "retention_rate_holdout": rate_h,
            "retention_lift": rate_t - rate_h,
            "retention_lift_lower_95": lower,
            "retention_lift_upper_95": upper,
            "mrr_retained_treatment": r_t * mrr,
            "mrr_retained_holdout": r_h * mrr,
            "mrr_retention_rate_treatment": rate_t,
            "mrr_retention_rate_holdout": rate_h,
            "incremental_customers": saved,
            "incremental_mrr": (rate_t - rate_h) * ARM * mrr,
            "offer_cost": cost,
            "cost_per_saved_customer": cost / saved if saved > 0 else None,
        }
    return row | outcomes


# shuffled, newest first: the page orders by assigned_at
LIFT = pd.DataFrame([lift_row(*c) for c in reversed(CAMPAIGNS)])
# the rows in a fixed order the page must not follow: random first
EVALUATION = pd.DataFrame(
    {
        "targeting": ["random", "uplift", "churn_risk"],
        "model": ["random", "x_logistic", "churn_risk"],
        "train_campaigns": ["cmp_0, cmp_a"] * 3,
        "test_campaign": ["cmp_b"] * 3,
        "customers_treatment": [90] * 3,
        "customers_holdout": [10] * 3,
        "qini_coefficient": [0.0002, 0.0321, -0.005],
        "auuc": [0.015, 0.0456, 0.01],
        "target_share": [TARGET_SHARE] * 3,
        "incremental_mrr_per_1000_contacted": [100.0, 1250.0, 300.0],
        "validation_qini": [None, 0.0123, None],
    }
)
# action, expected value, uplift: n4's uplift is negative, so it gets dunning, not the offer;
# n6 and n7 are pushed out by a contact and get nothing; n8 has no uplift score
ACTIONS = [
    ("n1", "retention_offer", 73.0, 0.10),
    ("n2", "retention_offer", 27.0, 0.05),
    ("n3", "dunning_outreach", 300.0, 0.05),
    ("n4", "dunning_outreach", 150.0, -0.02),
    ("n5", "upsell_prompt", 30.0, 0.01),
    ("n6", "nothing", 0.0, -0.05),
    ("n7", "nothing", 0.0, -0.10),
    ("n8", "nothing", 0.0, None),
]
NEXT_BEST_ACTION = pd.DataFrame(
    {
        "customer_id": [a[0] for a in ACTIONS],
        "action": [a[1] for a in ACTIONS],
        "expected_value": [a[2] for a in ACTIONS],
        "uplift": pd.Series([a[3] for a in ACTIONS], dtype="float64"),
        "reason": ["hand-made"] * len(ACTIONS),
    }
)
EXPERIMENT_MARTS = {
    "campaign_lift": LIFT,
    "uplift_model_evaluation": EVALUATION,
    "next_best_action": NEXT_BEST_ACTION,
}
# the amounts as the marts type them (dbt's money macros): the report reads them as doubles
DECIMALS = {
    "campaign_lift": (
        "mrr_at_assignment_treatment",
        "mrr_at_assignment_holdout",
        "mrr_retained_treatment",
        "mrr_retained_holdout",
        "incremental_mrr",
        "offer_cost",
        "cost_per_saved_customer",
    ),
    "next_best_action": ("expected_value",),
}


def experiment_warehouse(path: Path, **tables: pd.DataFrame | None) -> Path:
    """report_helpers' small warehouse with the experiment marts; a mart given as None is left
    out."""
    marts = {**small_tables(), **EXPERIMENT_MARTS, **tables}
    write_warehouse(path, {name: frame for name, frame in marts.items() if frame is not None})
    con = duckdb.connect(str(path))
    try:
        for table, columns in DECIMALS.items():
            if marts.get(table) is not None:
                for column in columns:
                    con.execute(f"alter table marts.{table} alter {column} type decimal(18, 2)")
    finally:
        con.close()
    return path


def sections_of(warehouse: Path) -> dict:
    return {s.key: s for s in build_sections(report_data.load(warehouse))}


def section_html(html: str, key: str) -> str:
    return html.split(f'<section class="report-section" id="{key}">', 1)[1].split("</section>")[0]


def cells(figure) -> list[list[str]]:
    (table,) = figure.data
    return [list(column) for column in table.cells.values]


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return experiment_warehouse(tmp_path / "warehouse.duckdb")


# --- pure pieces --------------------------------------------------------------------------------


def test_a_lift_is_shown_in_signed_percentage_points_with_its_interval():
    assert points(0.5) == "+50.0 pts"
    assert points(-0.2) == "-20.0 pts"
    assert points(-0.0004) == "+0.0 pts"  # rounds to zero: no "-0.0"
    assert points(None) == "n/a"
    assert lift_text(0.5, 0.0816, 0.7459) == "+50.0 pts [+8.2, +74.6]"
    assert lift_text(-0.2, -0.5261, 0.2017) == "-20.0 pts [-52.6, +20.2]"
    assert lift_text(None, None, None) == "n/a"


def test_the_hand_made_intervals_are_newcombe_s():
    # 9 of 10 retained vs 4 of 10: Wilson 0.5958–0.9821 and 0.1682–0.6873
    assert newcombe(9, 10, 4, 10) == (0.0816, 0.7459)
    assert newcombe(3, 10, 5, 10) == (-0.5261, 0.2017)


def test_the_no_uplift_model_notice_says_what_the_model_needs():
    assert f"{MIN_ARM} customers in each arm" in NO_UPLIFT_MODEL.detail


# --- the section ----------------------------------------------------------------------------------


def test_the_experiments_section_follows_the_risk_section(warehouse):
    sections = sections_of(warehouse)
    keys = list(sections)
    assert keys.index("experiments") == keys.index("risk") + 1
    assert keys.index("acquisition") == keys.index("experiments") + 1
    section = sections["experiments"]
    assert section.title == "Retention experiments"
    assert list(section.charts) == [
        "experiments-lift",
        "experiments-lift-table",
        "experiments-targeting",
        "experiments-targeting-mrr",
        "experiments-actions",
    ]
    assert section.notices == []
    assert "random holdout" in section.note
    assert "Newcombe's hybrid Wilson score interval" in section.note
    html = write_report(warehouse).read_text(encoding="utf-8")
    assert '<a href="#experiments">Retention experiments</a>' in html
    for chart_id in section.charts:
        assert f'id="chart-{chart_id}"' in html
    # the small warehouse's 17 charts and the five of the experiments
    assert html.count("Plotly.newPlot") == 17 + 5


def test_the_lift_chart_draws_each_campaign_s_complete_90_day_window(warehouse):
    chart = sections_of(warehouse)["experiments"].charts["experiments-lift"]
    assert chart.wide
    assert chart.title.startswith("90-day retention lift per campaign, in percentage points")
    (trace,) = chart.figure.data
    # cmp_c's 90-day window is still open: not drawn; the oldest campaign first
    assert list(trace.x) == ["cmp_a<br>1 Oct 2024", "cmp_b<br>1 Dec 2024"]
    # 9 of 10 vs 4 of 10 retained: +50 points, 95 % interval +8.16 to +74.59;
    # 3 of 10 vs 5 of 10: −20 points, −52.61 to +20.17
    assert list(trace.y) == pytest.approx([50.0, -20.0])
    assert list(trace.error_y.array) == pytest.approx([74.59 - 50.0, 20.17 + 20.0])
    assert list(trace.error_y.arrayminus) == pytest.approx([50.0 - 8.16, 52.61 - 20.0])
    assert trace.error_y.symmetric is False
    # cmp_a's interval lies above zero, cmp_b's spans it
    assert list(trace.marker.color) == [LIFT_COLOURS["above"], LIFT_COLOURS["spans"]]
    assert [list(row) for row in trace.customdata] == [
        ["+50.0 pts [+8.2, +74.6]", "high value at risk · retention_20pct_3m", "10", "10"],
        ["-20.0 pts [-52.6, +20.2]", "win back · win_back_50pct_1m", "10", "10"],
    ]
    (zero,) = chart.figure.layout.shapes
    assert (zero.y0, zero.y1) == (0, 0)
    assert chart.figure.layout.yaxis.title.text == "90-day retention lift, percentage points"


def test_the_lift_table_holds_every_complete_window(warehouse):
    chart = sections_of(warehouse)["experiments"].charts["experiments-lift-table"]
    assert chart.title == (
        f"Measured lift per campaign and window ({CURRENCY}); 1 window still open, the next "
        "ends on 16 May 2025"
    )
    (table,) = chart.figure.data
    assert list(table.header.values) == [
        "campaign",
        "assigned",
        "audience · offer",
        "window",
        "customers: treatment / holdout",
        "retained: treatment / holdout",
        "lift [95% interval]",
        f"incremental MRR ({CURRENCY})",
        f"cost per saved customer ({CURRENCY})",
    ]
    # incremental MRR = lift × the treatment arm's MRR at assignment (10 customers × MRR each);
    # cost per saved customer = retained treated × MRR × discount × months / customers saved:
    # cmp_a 30 days 10 × 100 × 0.6 / 4 = 150, 90 days 9 × 100 × 0.6 / 5 = 108;
    # cmp_b 30 days 6 × 80 × 0.5 / 1 = 240, 90 days none saved (−2); cmp_c none saved (0)
    assert cells(chart.figure) == [
        ["cmp_a", "cmp_a", "cmp_b", "cmp_b", "cmp_c"],
        ["1 Oct 2024", "1 Oct 2024", "1 Dec 2024", "1 Dec 2024", "15 Feb 2025"],
        [
            "high value at risk · retention_20pct_3m",
            "high value at risk · retention_20pct_3m",
            "win back · win_back_50pct_1m",
            "win back · win_back_50pct_1m",
            "high value at risk · retention_20pct_3m",
        ],
        ["30 days", "90 days", "30 days", "90 days", "30 days"],
        ["10 / 10"] * 5,
        ["100.0% / 60.0%", "90.0% / 40.0%", "60.0% / 50.0%", "30.0% / 50.0%", "80.0% / 80.0%"],
        [
            "+40.0 pts [+3.8, +68.7]",
            "+50.0 pts [+8.2, +74.6]",
            "+10.0 pts [-29.0, +45.1]",
            "-20.0 pts [-52.6, +20.2]",
            "+0.0 pts [-34.1, +34.1]",
        ],
        ["400", "500", "80", "-160", "0"],
        ["150", "108", "240", "none saved", "none saved"],
    ]


def test_the_held_out_comparison_lists_uplift_churn_risk_then_random(warehouse):
    section = sections_of(warehouse)["experiments"]
    chart = section.charts["experiments-targeting"]
    assert chart.title == (
        "Held-out campaign cmp_b: the uplift model (X-learner, logistic regression) vs churn "
        "risk vs random, the top 20% contacted"
    )
    (table,) = chart.figure.data
    assert list(table.header.values) == [
        "targeting",
        "Qini coefficient",
        "AUUC",
        f"incremental MRR retained per 1,000 contacted ({CURRENCY})",
    ]
    assert cells(chart.figure) == [
        ["uplift model", "churn risk", "random"],
        ["0.0321", "-0.0050", "0.0002"],
        ["0.0456", "0.0100", "0.0150"],
        ["1,250", "300", "100"],
    ]
    bars = section.charts["experiments-targeting-mrr"]
    assert bars.title == f"Incremental MRR retained per 1,000 contacted on cmp_b ({CURRENCY})"
    (bar,) = bars.figure.data
    assert list(bar.y) == ["uplift model", "churn risk", "random"]
    assert list(bar.x) == [1250.0, 300.0, 100.0]
    assert list(bar.marker.color) == [
        TARGETING_COLOURS["uplift"],
        TARGETING_COLOURS["churn_risk"],
        TARGETING_COLOURS["random"],
    ]
    assert list(bar.text) == [f"{CURRENCY} 1,250", f"{CURRENCY} 300", f"{CURRENCY} 100"]
    assert bars.figure.layout.xaxis.title.text == (
        f"incremental MRR retained per 1,000 contacted ({CURRENCY})"
    )
    assert f"{CURRENCY} %{{x:,.0f}}" in bar.hovertemplate


VERDICT = (
    "The uplift model (X-learner, logistic regression) learnt from cmp_0, cmp_a; on the "
    "held-out campaign cmp_b (90 in the treatment arm, 10 held out), contacting the top 20% by "
    "each score retained {c} 1,250 of MRR per 1,000 contacted by the uplift model, {c} 300 by "
    "churn risk and {c} 100 at random."
)


def test_the_note_ends_in_what_each_targeting_retained(warehouse):
    note = sections_of(warehouse)["experiments"].note
    assert note.endswith(" " + VERDICT.format(c=CURRENCY))
    html = render_html(report_data.load(warehouse))
    assert f"{VERDICT.format(c=CURRENCY)}</p>" in section_html(html, "experiments")


def test_next_best_actions_are_counted_and_valued_per_action(warehouse):
    chart = sections_of(warehouse)["experiments"].charts["experiments-actions"]
    # n4, n6 and n7 have a negative uplift: none of them is sent the retention offer
    assert chart.title == (
        f"Next best action of 8 paying subscribers ({CURRENCY}); the uplift model says a "
        "contact would push 3 of them out (uplift < 0): they are never sent a retention offer"
    )
    (table,) = chart.figure.data
    assert list(table.header.values) == [
        "next best action",
        "subscribers",
        f"total expected value ({CURRENCY})",
        "uplift < 0: a contact would push them out",
    ]
    assert cells(chart.figure) == [
        ["retention offer", "upsell prompt", "dunning outreach", "nothing", "all"],
        ["2", "1", "2", "3", "8"],
        ["100", "30", "450", "0", "580"],  # 73 + 27; 300 + 150
        ["0", "0", "1", "2", "3"],
    ]


def test_the_page_shows_the_figures(warehouse):
    html = section_html(write_report(warehouse).read_text(encoding="utf-8"), "experiments")
    for text in (
        "+50.0 pts [+8.2, +74.6]",
        "-20.0 pts [-52.6, +20.2]",
        "none saved",
        "Held-out campaign cmp_b: the uplift model (X-learner, logistic regression)",
        "a contact would push 3 of them out (uplift &lt; 0)",
    ):
        assert text in html, text


def test_amounts_carry_the_currency_of_the_dbt_project(warehouse, tmp_path, monkeypatch):
    report_in_currency("EUR", tmp_path, monkeypatch)
    section = sections_of(warehouse)["experiments"]
    assert section.note.endswith(
        "retained EUR 1,250 of MRR per 1,000 contacted by the uplift model, EUR 300 by churn "
        "risk and EUR 100 at random."
    )
    assert section.charts["experiments-lift-table"].figure.data[0].header.values[-1] == (
        "cost per saved customer (EUR)"
    )
    bars = section.charts["experiments-targeting-mrr"].figure
    assert bars.layout.xaxis.title.text.endswith("(EUR)")
    assert "EUR %{x" in bars.data[0].hovertemplate
    assert section.charts["experiments-actions"].title.startswith(
        "Next best action of 8 paying subscribers (EUR)"
    )


# --- what is missing ----------------------------------------------------------------------------


def test_a_warehouse_without_the_experiment_marts_has_no_experiments_section(tmp_path):
    warehouse = make_small_warehouse(tmp_path / "warehouse.duckdb")
    data = report_data.load(warehouse)
    assert data["campaign_lift"] is None and data["uplift_evaluation"] is None
    assert data["next_best_actions"] is None
    assert "experiments" not in sections_of(warehouse)
    html = write_report(warehouse).read_text(encoding="utf-8")
    assert 'id="experiments"' not in html and "chart-experiments" not in html
    assert "Not in this warehouse yet" not in html
    assert html.count("Plotly.newPlot") == 17


def test_experiment_marts_without_rows_leave_no_section(tmp_path):
    empty = {name: frame.head(0) for name, frame in EXPERIMENT_MARTS.items()}
    warehouse = experiment_warehouse(tmp_path / "warehouse.duckdb", **empty)
    assert "experiments" not in sections_of(warehouse)
    assert 'id="experiments"' not in write_report(warehouse).read_text(encoding="utf-8")


def test_no_complete_window_is_said_instead_of_an_empty_chart(tmp_path):
    # a campaign assigned ten days before the as-of instant: its 30-day window ends on 9 Apr
    assigned = ("cmp_d", "win_back", "win_back_50pct_1m", "2025-03-10")
    open_windows = pd.DataFrame(
        [lift_row(*assigned, days, None, None, 80.0, 0.5) for days in (30, 90)]
    )
    warehouse = experiment_warehouse(tmp_path / "warehouse.duckdb", campaign_lift=open_windows)
    section = sections_of(warehouse)["experiments"]
    assert "experiments-lift" not in section.charts
    assert "experiments-lift-table" not in section.charts
    assert [n.text for n in section.notices] == [
        "No window complete yet: lift is measured 30 and 90 days after a campaign's assignment "
        "and no window has ended; the first, cmp_d's 30-day window, ends on 9 Apr 2025 "
        "(marts.campaign_lift)"
    ]
    # the rest of the section still draws
    assert list(section.charts) == [
        "experiments-targeting",
        "experiments-targeting-mrr",
        "experiments-actions",
    ]
    html = section_html(write_report(warehouse).read_text(encoding="utf-8"), "experiments")
    assert '<p class="missing">No window complete yet: lift is measured 30 and 90 days' in html


def test_without_a_complete_90_day_window_the_table_shows_the_30_day_lift(tmp_path):
    lift = LIFT[LIFT["campaign_id"] == "cmp_c"]
    warehouse = experiment_warehouse(tmp_path / "warehouse.duckdb", campaign_lift=lift)
    section = sections_of(warehouse)["experiments"]
    assert "experiments-lift" not in section.charts
    assert [n.text for n in section.notices] == [
        "No 90-day window complete yet: the lift chart needs a campaign assigned 90 days before "
        "the as-of instant; the first ends on 16 May 2025; the table shows the shorter windows "
        "(marts.campaign_lift)"
    ]
    table = section.charts["experiments-lift-table"].figure
    assert cells(table)[0] == ["cmp_c"] and cells(table)[6] == ["+0.0 pts [-34.1, +34.1]"]


def test_no_campaigns_and_no_uplift_model_leave_notices_beside_the_actions(tmp_path):
    warehouse = experiment_warehouse(
        tmp_path / "warehouse.duckdb",
        campaign_lift=LIFT.head(0),
        uplift_model_evaluation=EVALUATION.head(0),
    )
    section = sections_of(warehouse)["experiments"]
    assert list(section.charts) == ["experiments-actions"]
    assert [n.headline for n in section.notices] == [
        "No campaigns with a holdout",
        "No uplift model",
    ]
    assert section.missing == []
    assert "held-out campaign" not in section.note  # no verdict without an evaluation


def test_actions_without_uplift_scores_say_there_is_no_retention_offer(tmp_path):
    unscored = NEXT_BEST_ACTION[NEXT_BEST_ACTION["action"] != "retention_offer"].assign(uplift=None)
    warehouse = experiment_warehouse(tmp_path / "warehouse.duckdb", next_best_action=unscored)
    chart = sections_of(warehouse)["experiments"].charts["experiments-actions"]
    assert chart.title == (
        f"Next best action of 6 paying subscribers ({CURRENCY}): no uplift scores, so no "
        "retention offer"
    )
    # an action nobody has is not a row
    assert cells(chart.figure)[0] == ["upsell prompt", "dunning outreach", "nothing", "all"]


def test_a_missing_experiment_mart_is_named(tmp_path):
    warehouse = experiment_warehouse(
        tmp_path / "warehouse.duckdb", uplift_model_evaluation=None, next_best_action=None
    )
    section = sections_of(warehouse)["experiments"]
    assert list(section.charts) == ["experiments-lift", "experiments-lift-table"]
    assert section.missing == ["uplift_model_evaluation", "next_best_action"]
    html = write_report(warehouse).read_text(encoding="utf-8")
    assert "Not in this warehouse yet: <code>marts.uplift_model_evaluation</code>" in html


@pytest.mark.slow
@pytest.mark.parametrize("width", (1400, 820))
def test_the_experiments_section_draws_in_chromium_without_overlaps(warehouse, tmp_path, width):
    page = open_in_chromium(write_report(warehouse), tmp_path / f"experiments-{width}.png", width)
    assert page.errors == [] and page.requests == []
    drawn = {c["id"]: c for c in page.charts}
    for chart_id in (
        "chart-experiments-lift",
        "chart-experiments-lift-table",
        "chart-experiments-targeting",
        "chart-experiments-targeting-mrr",
        "chart-experiments-actions",
    ):
        chart = drawn[chart_id]
        assert chart["drawn"] and chart["traces"] > 0, chart
        assert 200 < chart["width"] <= chart["box"], chart
    assert page.overlaps == []
    layout = page.layouts["experiments-targeting-mrr"]
    assert layout["titles"]["xaxis"].endswith(f"({CURRENCY})")
