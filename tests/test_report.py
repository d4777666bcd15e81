"""The metrics report: pure pieces on hand-made numbers, a hand-made warehouse, and the real page
of a pipeline run opened in headless Chromium."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from flow import cli, query
from report_helpers import (
    AUDIENCES,
    PURCHASES,
    make_purchase_only_warehouse,
    make_small_warehouse,
    open_in_chromium,
)

from subscriber_warehouse.report import ReportError, render_html, report_path, write_report
from subscriber_warehouse.report import data as report_data
from subscriber_warehouse.report.customer_charts import log_bins
from subscriber_warehouse.report.sections import build_sections
from subscriber_warehouse.report.tiles import (
    build_tiles,
    change_tone,
    format_change,
    format_number,
    format_rate,
    month_label,
    point_change,
    relative_change,
)

# --- pure pieces --------------------------------------------------------------------------------


def test_numbers_are_formatted_without_the_locale():
    assert format_number(2168428.4) == "2,168,428"
    assert format_number(428.289, decimals=2) == "428.29"
    assert format_number(-0.4) == "0"  # never "-0"
    assert format_number(None) == "n/a"
    assert format_number(float("nan")) == "n/a"
    assert format_rate(0.036521) == "3.7%"
    assert format_rate(1.0402) == "104.0%"
    assert month_label(date(2025, 12, 1)) == "Dec 2025"


def test_month_over_month_change_of_amounts_is_relative():
    assert relative_change(110.0, 100.0) == pytest.approx(0.10)
    assert relative_change(90.0, 100.0) == pytest.approx(-0.10)
    assert relative_change(5.0, 0.0) is None  # no base to compare with
    assert relative_change(5.0, None) is None
    assert format_change(relative_change(1330.0, 1100.0), "amount") == "+20.9%"
    assert format_change(-0.1, "amount") == "-10.0%"
    assert format_change(-0.00001, "amount") == "+0.0%"


def test_month_over_month_change_of_rates_is_in_points():
    assert point_change(0.05, 0.04) == pytest.approx(0.01)
    assert format_change(point_change(0.05, 0.04), "rate") == "+1.0 pp"
    assert format_change(point_change(0.9, 0.92), "rate") == "-2.0 pp"
    assert format_change(-0.0004, "rate") == "+0.0 pp"
    assert point_change(float("nan"), 0.1) is None
    assert format_change(None, "rate") == "n/a"


def test_tone_says_whether_a_move_is_welcome():
    assert change_tone(0.02, "rate", higher_is_better=False) == "bad"  # churn up
    assert change_tone(-0.02, "rate", higher_is_better=False) == "good"
    assert change_tone(0.1, "amount", higher_is_better=True) == "good"
    assert change_tone(0.00001, "amount", higher_is_better=True) == "flat"
    assert change_tone(None, "amount", higher_is_better=True) == "none"


def test_tiles_of_hand_made_months():
    before = {
        "mrr_end": 1000.0,
        "arr_end": 12000.0,
        "customers_end": 10,
        "logo_churn_rate": 0.04,
        "net_revenue_retention": 1.0,
        "arpa": 100.0,
        "formula_ltv": 2000.0,
    }
    now = {**before, "mrr_end": 1250.0, "customers_end": 9, "logo_churn_rate": 0.05}
    tiles = {t.key: t for t in build_tiles(now, before)}
    assert (tiles["mrr"].value, tiles["mrr"].change, tiles["mrr"].tone) == (
        "1,250",
        "+25.0%",
        "good",
    )
    assert (tiles["customers"].value, tiles["customers"].change) == ("9", "-10.0%")
    assert tiles["customers"].tone == "bad"
    assert (tiles["logo_churn"].value, tiles["logo_churn"].change) == ("5.0%", "+1.0 pp")
    assert tiles["logo_churn"].tone == "bad"
    assert (tiles["nrr"].change, tiles["nrr"].tone) == ("+0.0 pp", "flat")
    assert [t.key for t in build_tiles(now, None)] == list(tiles)
    assert {t.change for t in build_tiles(now, None)} == {"n/a"}


def test_log_bins_start_at_a_power_of_ten_and_cover_the_largest_value():
    edges = log_bins(np.array([150.0, 900.0, 2500.0, 40000.0, 0.0]), bins=10)
    assert edges[0] == 100.0
    assert edges[-1] == pytest.approx(40000.0)
    assert len(edges) == 11


# --- a small hand-made warehouse ----------------------------------------------------------------


@pytest.fixture
def small(tmp_path) -> Path:
    return make_small_warehouse(tmp_path / "warehouse.duckdb")


def tile_texts(html: str) -> dict[str, tuple[str, str]]:
    found = re.findall(
        r'data-metric="(\w+)".*?class="value">([^<]*)</div><div class="change \w+">([^<]*)<', html
    )
    return {key: (value, change) for key, value, change in found}


def test_report_of_a_small_warehouse_is_written_beside_it(small):
    path = write_report(small)
    assert path == small.parent / "warehouse.report.html" == report_path(small)
    html = path.read_text(encoding="utf-8")
    tiles = tile_texts(html)
    # March 2025 of report_helpers.METRICS against February, worked out by hand
    assert tiles["mrr"] == ("1,330", "+20.9% vs Feb 2025")
    assert tiles["arr"] == ("15,960", "+20.9% vs Feb 2025")
    assert tiles["customers"] == ("13", "+18.2% vs Feb 2025")
    assert tiles["logo_churn"] == ("18.2%", "+8.2 pp vs Feb 2025")
    assert tiles["nrr"] == ("91.8%", "+1.8 pp vs Feb 2025")
    assert tiles["arpa"] == ("102.31", "+2.3% vs Feb 2025")
    assert tiles["clv"] == ("1,100", "+10.0% vs Feb 2025")
    assert "As of Mar 2025" in html and "published 2025-03-31 23:10 UTC" in html
    assert html.count("<script src=") == 0  # plotly.js is inline
    assert html.count("Plotly.newPlot") == 15
    assert "Not in this warehouse yet" not in html
    assert 'class="missing"' not in html  # every section has its data
    assert 'id="purchases"' not in html  # published before one-off purchases were modelled


def test_acquisition_is_totalled_per_channel_over_campaigns_with_spend(small):
    channels = report_data.load(small)["acquisition"].set_index("acquisition_channel")
    assert list(channels.index) == ["paid_search"]  # organic spent nothing: no CAC
    row = channels.loc["paid_search"]
    assert row["cac"] == pytest.approx(1500 / 15)
    assert row["ltv_to_cac"] == pytest.approx(1100 * 15 / 1500)
    assert row["historical_ltv_to_cac"] == pytest.approx((300 * 10 + 120 * 5) / 1500)


def test_risk_section_counts_tiers_segments_and_audiences(small):
    sections = {s.key: s for s in build_sections(report_data.load(small))}
    risk = sections["risk"]
    assert risk.missing == []
    tiers = risk.charts["risk-tiers"].figure.data[0]
    assert list(tiers.x) == ["High", "Medium", "Low"]
    assert list(tiers.y) == [2, 1, 2]
    matrix = risk.charts["value-risk"].figure.data[0]
    # rows: high, medium, low value; columns: high, medium, low risk
    assert [[int(v) for v in row] for row in matrix.z] == [
        [1, 0, 1],
        [0, 1, 0],
        [1, 0, 1],
    ]
    by_channel = {
        trace.name: dict(zip(trace.y, trace.x, strict=True))
        for trace in risk.charts["audiences"].figure.data
    }
    for name, channels in AUDIENCES.items():
        label = name.removeprefix("audience_").replace("_", " ")
        sizes = {channel: by_channel[channel][label] for channel in ("email", "sms", "none")}
        assert sizes == {c: channels.count(c) for c in ("email", "sms", "none")}


def test_sections_without_the_churn_risk_marts_say_so_and_the_rest_renders(tmp_path):
    warehouse = make_small_warehouse(tmp_path / "warehouse.duckdb", with_risk=False)
    html = write_report(warehouse, tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    for table in ("churn_risk_scores", "customer_segments", "audience_*"):
        assert f"Not in this warehouse yet: <code>marts.{table}</code>" in html
    assert 'id="chart-risk-tiers"' not in html
    assert html.count("Plotly.newPlot") == 11


def report_sections(html: str) -> dict[str, str]:
    """Section id -> its HTML up to the next section (split, not matched: plotly.js is inline)."""
    pieces = html.split('<section class="report-section" id="')[1:]
    return {piece.split('"', 1)[0]: piece for piece in pieces}


def notices(section_html: str) -> list[str]:
    return re.findall(r'<p class="missing">(.*?)</p>', section_html)


def no_subscriptions(charts: str) -> str:
    return f"No subscription data: {charts} subscription_events (docs/raw-contract.md)"


@pytest.fixture
def purchase_only(tmp_path) -> Path:
    return make_purchase_only_warehouse(tmp_path / "warehouse.duckdb")


def test_a_purchase_only_business_is_reported_with_notices_for_subscriptions(purchase_only):
    html = write_report(purchase_only).read_text(encoding="utf-8")
    sections = report_sections(html)
    expected = {
        "revenue": [no_subscriptions("MRR movements and the MRR bridge need")],
        "churn": [no_subscriptions("churn rates and churn reasons need")],
        "cohorts": [no_subscriptions("cohort retention needs")],
        "trials": [no_subscriptions("trial conversion needs")],
        "value": [no_subscriptions("CLV and the survival projection need")],
    }
    for key, texts in expected.items():
        assert notices(sections[key]) == texts, key
        assert "<figure" not in sections[key] and "plotly-graph-div" not in sections[key], key
    # no tiles: the headline row says why, and the page is dated by its publication
    assert tile_texts(html) == {}
    headline = html.split('<section id="headline">', 1)[1].split("</section>", 1)[0]
    assert notices(headline) == [
        no_subscriptions("the headline tiles (MRR, ARR, customers, churn, NRR, ARPA, CLV) need")
    ]
    assert "As of 2025-03-31 (the publication date; no subscription months to date it by)" in html
    assert "metrics as of 2025-03-31</title>" in html
    (risk_model, audiences) = notices(sections["risk"])
    assert risk_model.startswith("No churn model: too little churn history;")
    assert audiences.startswith("No audiences: no customer is in any marts.audience_*")
    assert notices(sections["acquisition"]) == [
        "No campaign spend: CAC and LTV:CAC need campaigns with spend &gt; 0 and the customers "
        "they acquired (campaigns, customers.acquisition_campaign_id; docs/raw-contract.md)"
    ]
    for key in ("risk", "acquisition"):
        assert "<figure" not in sections[key], key
    purchases = sections["purchases"]
    assert notices(purchases) == []
    assert "BG/NBD + Gamma-Gamma (Fader, Hardie &amp; Lee 2005)" in purchases
    assert 'id="chart-purchase-spend"' in purchases and 'id="chart-purchase-alive"' in purchases
    assert html.count("Plotly.newPlot") == 2
    assert "Not in this warehouse yet" not in html


def test_purchase_charts_of_hand_made_buyers(purchase_only):
    sections = {s.key: s for s in build_sections(report_data.load(purchase_only))}
    charts = sections["purchases"].charts
    assert list(charts) == ["purchase-spend", "purchase-alive"]
    assert "52 weeks" in charts["purchase-spend"].title
    (spend,) = charts["purchase-spend"].figure.data
    # from the power of ten below the smallest spend (5) to the largest (2,400); 8 buyers
    assert spend.x[0] == 1.0 and spend.x[-1] == pytest.approx(2400.0)
    assert sum(spend.y[:-1]) == len(PURCHASES) == 8
    # report_helpers.PURCHASE_ROWS by repeat band and weeks since the last purchase, by hand
    lines = {
        t.name: (list(t.x), list(t.y), list(t.customdata))
        for t in charts["purchase-alive"].figure.data
    }
    assert lines == {
        "no repeat purchase": ([10, 30], [1.0, 1.0], [1, 1]),
        "1 repeat": ([10, 20], [0.9, 0.6], [1, 1]),
        "2–3 repeats": ([10], [pytest.approx(0.75)], [2]),
        "4+ repeats": ([0, 10], [0.99, 0.95], [1, 1]),
    }


def test_too_few_one_off_buyers_leave_a_notice_not_a_chart(tmp_path):
    warehouse = make_purchase_only_warehouse(tmp_path / "warehouse.duckdb", PURCHASES.head(0))
    html = write_report(warehouse).read_text(encoding="utf-8")
    assert notices(report_sections(html)["purchases"]) == [
        "No purchase model: fewer than 50 one-off buyers (or 10 repeat buyers); more paid "
        "one-off invoices (invoices without a subscription_id, docs/raw-contract.md) would fill it"
    ]
    assert "Plotly.newPlot" not in html


def test_subscriptions_without_campaigns_or_trials_say_so(tmp_path):
    warehouse = make_small_warehouse(
        tmp_path / "warehouse.duckdb", campaigns=False, empty=("trial_conversion_monthly",)
    )
    html = write_report(warehouse).read_text(encoding="utf-8")
    sections = report_sections(html)
    assert notices(sections["acquisition"]) == [
        "No campaign spend: CAC and LTV:CAC need campaigns with spend &gt; 0 and the customers "
        "they acquired (campaigns, customers.acquisition_campaign_id; docs/raw-contract.md)"
    ]
    assert notices(sections["trials"]) == [
        "No trials: trial conversion needs subscriptions that start trialing (plans with "
        "trial_days &gt; 0, trial_started subscription_events; docs/raw-contract.md)"
    ]
    for key in ("acquisition", "trials"):
        assert "<figure" not in sections[key], key
    # everything else as in the full small warehouse
    assert html.count("Plotly.newPlot") == 15 - 2
    assert [notices(sections[k]) for k in ("revenue", "churn", "cohorts", "value", "risk")] == [
        [],
        [],
        [],
        [],
        [],
    ]
    assert tile_texts(html)["mrr"] == ("1,330", "+20.9% vs Feb 2025")


def test_models_short_of_history_leave_notices_and_the_other_charts_draw(tmp_path):
    empty = ("clv_predictions", "retention_projection", "churn_risk_scores", "customer_segments")
    warehouse = make_small_warehouse(tmp_path / "warehouse.duckdb", empty=(*empty, *AUDIENCES))
    sections = {s.key: s for s in build_sections(report_data.load(warehouse))}
    value = sections["value"]
    # both sBG marts are empty for one reason: one notice; the formula CLV still draws, alone
    assert [n.headline for n in value.notices] == ["No sBG model"]
    assert list(value.charts) == ["clv-distribution"]
    (formula,) = value.charts["clv-distribution"].figure.data
    assert formula.name.startswith("Formula CLV")
    risk = sections["risk"]
    assert risk.charts == {} and risk.missing == []
    # segments come from the scores: the churn model's notice covers them
    assert [n.headline for n in risk.notices] == ["No churn model", "No audiences"]
    assert risk.notices[0].text.startswith("No churn model: too little churn history")


def test_a_file_that_is_not_a_published_warehouse_is_refused(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(ReportError, match="subscription_metrics_monthly"):
        write_report(path)
    with pytest.raises(ReportError, match="no warehouse"):
        write_report(tmp_path / "missing.duckdb")


def test_the_page_does_not_depend_on_the_machine_time_zone(small, monkeypatch):
    pages = []
    for zone in ("UTC", "Pacific/Kiritimati", "America/St_Johns"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        pages.append(render_html(report_data.load(small)))
    monkeypatch.delenv("TZ")
    time.tzset()
    assert pages[0] == pages[1] == pages[2]


def test_the_warehouse_is_opened_read_only(small):
    # a writer holding the file would make a read-write open fail; a read-only one is allowed
    reader = duckdb.connect(str(small), read_only=True)
    try:
        assert write_report(small).is_file()
    finally:
        reader.close()


def test_the_dagster_asset_renders_beside_the_published_file(small):
    import dagster as dg

    from orchestration.assets.report import metrics_report
    from orchestration.resources import Warehouse

    resource = Warehouse(landing_dir=str(small.parent), warehouse_path=str(small))
    result = dg.materialize([metrics_report], resources={"warehouse": resource})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.asset_key == dg.AssetKey(["report", "metrics_report"])
    assert (small.parent / "warehouse.report.html").stat().st_size > 1_000_000


# --- in a browser -------------------------------------------------------------------------------

CHARTS = {
    "mrr-movements",
    "mrr-bridge",
    "churn-trend",
    "churn-voluntary",
    "churn-reasons",
    "cohort-logo",
    "cohort-revenue",
    "trial-conversion",
    "clv-distribution",
    "retention-projection",
    "acquisition",
}
RISK_CHARTS = {"risk-tiers", "risk-probability", "value-risk", "audiences"}
PURCHASE_CHARTS = {"purchase-spend", "purchase-alive"}


def marts(warehouse: Path) -> set[str]:
    sql = "select table_name from information_schema.tables where table_schema = 'marts'"
    return {name for (name,) in query(warehouse, sql)}


def mart_rows(warehouse: Path) -> dict[str, int]:
    """Rows of the model and audience marts in the file; a mart that is absent is not a key."""
    names = {"churn_risk_scores", "customer_segments", "purchase_clv_predictions", *AUDIENCES}
    return {
        name: query(warehouse, f"select count(*) from marts.{name}")[0][0]
        for name in names & marts(warehouse)
    }


def charts_with_data(rows: dict[str, int]) -> set[str]:
    """The charts of the pipeline's page: a model's or audience's only where its marts have rows
    (an empty one leaves a notice instead)."""
    expected = set(CHARTS)
    if rows.get("churn_risk_scores"):
        expected |= {"risk-tiers", "risk-probability"}
    if rows.get("customer_segments"):
        expected.add("value-risk")
    if any(rows.get(a) for a in AUDIENCES):
        expected.add("audiences")
    if rows.get("purchase_clv_predictions"):
        expected |= PURCHASE_CHARTS
    return expected


def assert_every_chart_drew(page, expected: set[str]) -> None:
    assert page.errors == []
    assert page.requests == []  # nothing fetched: readable offline, without a server
    assert {c["id"].removeprefix("chart-") for c in page.charts} == expected
    for chart in page.charts:
        assert chart["drawn"] and chart["traces"] > 0, chart
        # sized to its card, not drawn wider and clipped
        assert 200 < chart["width"] <= chart["box"], chart


@pytest.mark.slow
def test_small_report_draws_every_chart_in_chromium(small, tmp_path):
    page = open_in_chromium(write_report(small), tmp_path / "small.png")
    assert_every_chart_drew(page, CHARTS | RISK_CHARTS)
    assert page.tiles["mrr"]["value"] == "1,330"


@pytest.mark.slow
def test_purchase_only_report_draws_its_charts_in_chromium(purchase_only, tmp_path):
    page = open_in_chromium(write_report(purchase_only), tmp_path / "purchases.png")
    assert_every_chart_drew(page, PURCHASE_CHARTS)
    assert page.tiles == {}


@pytest.fixture(scope="module")
def pipeline_page(warehouse, tmp_path_factory):
    """The report of the shared pipeline run, rendered by the CLI and opened in Chromium."""
    out = tmp_path_factory.mktemp("report") / "metrics.html"
    started = time.monotonic()
    done = cli("report", "--warehouse", str(warehouse), "--out", str(out), tz="Asia/Kathmandu")
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}"
    screenshot = out.with_name("report.png")
    page = open_in_chromium(out, screenshot)
    return page, out, screenshot, seconds


@pytest.mark.slow
def test_pipeline_report_draws_every_chart_and_saves_a_screenshot(pipeline_page, warehouse):
    page, out, screenshot, seconds = pipeline_page
    assert_every_chart_drew(page, charts_with_data(mart_rows(warehouse)))
    assert screenshot.stat().st_size > 50_000
    assert seconds < 60, f"rendering took {seconds:.0f} s"
    assert out.stat().st_size < 15_000_000


@pytest.mark.slow
def test_pipeline_report_tiles_match_the_marts(pipeline_page, warehouse):
    page = pipeline_page[0]
    (last, before) = query(
        warehouse,
        "select month_start, mrr_end, arr_end, customers_end, logo_churn_rate, "
        "net_revenue_retention from marts.subscription_metrics_monthly "
        "order by month_start desc limit 2",
    )
    since = f" vs {before[0]:%b %Y}"
    tiles = page.tiles
    assert tiles["mrr"]["value"] == f"{last[1]:,.0f}"
    assert tiles["mrr"]["change"] == f"{(last[1] - before[1]) / before[1]:+.1%}{since}"
    assert tiles["arr"]["value"] == f"{last[2]:,.0f}"
    assert tiles["customers"]["value"] == f"{last[3]:,}"
    assert tiles["logo_churn"]["value"] == f"{last[4]:.1%}"
    assert tiles["nrr"]["value"] == f"{last[5]:.1%}"
    assert tiles["nrr"]["change"] == f"{(last[5] - before[5]) * 100:+.1f} pp{since}"
    # the waterfall ends at the month's MRR; one bar group per month; one heatmap row per cohort
    assert page.bridge_text[-1] == f"{last[1]:,.0f}"
    (months,) = query(warehouse, "select count(*) from marts.subscription_metrics_monthly")[0]
    assert page.movement_months == months
    (cohorts,) = query(
        warehouse, "select count(distinct cohort_month) from marts.cohort_retention_monthly"
    )[0]
    assert page.heatmap_rows == {"cohort-logo": cohorts, "cohort-revenue": cohorts}


@pytest.mark.slow
def test_pipeline_report_risk_section(pipeline_page, warehouse):
    rows = mart_rows(warehouse)
    if not rows.get("churn_risk_scores"):
        pytest.skip(
            "no churn-risk scores in the pipeline's warehouse (not built, or too little churn "
            "history): churn-risk and audience charts are checked only on the hand-made warehouse"
        )
    page = pipeline_page[0]
    drawn = {c["id"].removeprefix("chart-") for c in page.charts if c["drawn"]}
    assert {"risk-tiers", "risk-probability"} <= drawn
    assert sum(page.risk_tier_counts) == rows["churn_risk_scores"]
    assert bool(rows.get("customer_segments")) == ("value-risk" in drawn)
    audiences = [a for a in AUDIENCES if a in rows]
    assert any(rows[a] for a in audiences) == ("audiences" in drawn)
    for name in audiences:
        (size,) = query(warehouse, f"select count(*) from marts.{name}")[0]
        label = name.removeprefix("audience_").replace("_", " ")
        assert page.audience_sizes.get(label, 0) == size, name
