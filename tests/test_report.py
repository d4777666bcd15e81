"""The metrics report: pure pieces on hand-made numbers, a hand-made warehouse, and the real page
of a pipeline run opened in headless Chromium."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from flow import cli, query
from report_helpers import (
    ACQUISITION,
    AUDIENCES,
    PROJECTION,
    PURCHASES,
    make_purchase_only_warehouse,
    make_small_warehouse,
    open_in_chromium,
    report_in_currency,
    small_tables,
    write_warehouse,
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

ROOT = Path(__file__).resolve().parent.parent
# the metric contract's vars, read here as the dbt project declares them
PROJECT_VARS = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
CURRENCY = PROJECT_VARS["reporting_currency"]
# a fixed instant for pages whose text would otherwise follow the clock (the stale-data banner)
RENDERED_AT = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
# report_helpers' audiences in the page's words
AUDIENCE_LABELS = {
    "audience_at_risk_high_value": "high value at risk",
    "audience_win_back": "win back",
    "audience_dunning": "dunning (failed payment)",
    "audience_trial_not_converted": "trial not converted",
    "audience_upsell": "upsell",
    "audience_re_engage": "re-engage",
}

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
    tiles = {t.key: t for t in build_tiles(now, before, "EUR")}
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
    # amounts carry the currency code; counts and rates none
    assert {k for k, t in tiles.items() if t.unit == "EUR"} == {"mrr", "arr", "arpa", "clv"}
    assert {t.unit for k, t in tiles.items() if k not in ("mrr", "arr", "arpa", "clv")} == {""}
    assert tiles["arpa"].hint.endswith(", in EUR")
    assert [t.key for t in build_tiles(now, None, "EUR")] == list(tiles)
    assert {t.change for t in build_tiles(now, None, "EUR")} == {"n/a"}


def test_log_bins_start_at_a_power_of_ten_and_cover_the_largest_value():
    edges = log_bins(np.array([150.0, 900.0, 2500.0, 40000.0, 0.0]), bins=10)
    assert edges[0] == 100.0
    assert edges[-1] == pytest.approx(40000.0)
    assert len(edges) == 11


# --- a small hand-made warehouse ----------------------------------------------------------------


@pytest.fixture
def small(tmp_path) -> Path:
    return make_small_warehouse(tmp_path / "warehouse.duckdb")


def tile_labels(html: str) -> dict[str, str]:
    found = re.findall(r'data-metric="(\w+)"[^>]*><div class="label">(.*?)</div>', html)
    return dict(found)


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
    currency = f' <span class="currency">({CURRENCY})</span>'
    assert tile_labels(html) == {
        "mrr": f"MRR{currency}",
        "arr": f"ARR{currency}",
        "customers": "Customers",
        "logo_churn": "Logo churn",
        "nrr": "NRR",
        "arpa": f"ARPA{currency}",
        "clv": f"CLV{currency}",
    }
    assert "As of Mar 2025" in html and "published 2025-03-31 23:10 UTC" in html
    assert "newest event 2025-03-31 18:00 UTC" in html
    assert f"amounts in {CURRENCY} (the reporting currency)" in html
    assert html.count("<script src=") == 0  # plotly.js is inline
    assert html.count("Plotly.newPlot") == 17
    assert "Not in this warehouse yet" not in html
    assert 'class="missing"' not in html  # every section has its data
    assert 'id="purchases"' not in html  # published before one-off purchases were modelled


def test_acquisition_is_totalled_per_channel_over_campaigns_with_spend(small):
    channels = report_data.load(small)["acquisition"].set_index("acquisition_channel")
    assert list(channels.index) == ["paid_search", "paid_social"]  # organic spent nothing
    assert channels.loc["paid_search", "cac"] == pytest.approx(1500 / 15)
    assert channels.loc["paid_search", "historical_ltv_to_cac"] == pytest.approx(
        (300 * 10 + 120 * 5) / 1500
    )
    assert channels.loc["paid_social", "cac"] == pytest.approx(400 / 4)


def test_ltv_to_cac_divides_each_channel_s_own_ltv_by_its_cac(small):
    """report_helpers.ACQUISITION's channel_formula_ltv (worked out by hand in its comment): the
    two channels have the same CAC, and the company-wide formula_ltv would give them one ratio."""
    assert (PROJECT_VARS["clv_trailing_months"], PROJECT_VARS["gross_margin"]) == (6, 1.0)
    section = {s.key: s for s in build_sections(report_data.load(small))}["acquisition"]
    assert list(section.charts) == ["acquisition-cac", "acquisition-ltv-cac"]
    assert section.notices == []
    own, historical = section.charts["acquisition-ltv-cac"].figure.data
    assert list(own.y) == ["paid search", "paid social"]
    ltv = [row[0] for row in own.customdata]
    assert ltv == [pytest.approx(610 / 7 * 4), pytest.approx(35 * 3)]
    assert list(own.x) == [pytest.approx(610 / 7 * 4 / 100), pytest.approx(105 / 100)]
    assert list(historical.x) == [pytest.approx(3600 / 1500), pytest.approx(50 * 4 / 400)]
    # the formula is on the page, with the project's parameters
    assert "over the last 6 months" in section.note and "capped at 60 months" in section.note
    assert f"LTV {CURRENCY} %{{customdata[0]:,.0f}}" in own.hovertemplate


def test_acquisition_without_a_channel_ltv_draws_the_rest(tmp_path):
    """A channel LTV is null when none of the channel's customers ever paid at a month end."""
    tables = small_tables()
    tables["acquisition_performance"] = ACQUISITION.assign(channel_formula_ltv=np.nan)
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb", tables)
    section = {s.key: s for s in build_sections(report_data.load(warehouse))}["acquisition"]
    assert section.missing == [] and section.notices == []
    (historical,) = section.charts["acquisition-ltv-cac"].figure.data
    assert historical.name.startswith("Net revenue paid so far")


def test_risk_section_counts_tiers_segments_and_audiences(small):
    sections = {s.key: s for s in build_sections(report_data.load(small))}
    risk = sections["risk"]
    assert risk.missing == []
    tiers = risk.charts["risk-tiers"].figure.data[0]
    # report_helpers.RISK_SCORES: high 0.9 and 0.7, medium 0.4, low 0.1 and 0.05
    assert list(tiers.x) == ["High<br>p 70.0–90.0%", "Medium<br>p 40.0–40.0%", "Low<br>p 5.0–10.0%"]
    assert list(tiers.y) == [2, 1, 2]
    histogram = risk.charts["risk-probability"].figure.data
    assert [t.name for t in histogram] == [
        "high risk (p 70.0–90.0%)",
        "medium risk (p 40.0–40.0%)",
        "low risk (p 5.0–10.0%)",
    ]
    assert [int(sum(t.y)) for t in histogram] == [2, 1, 2]
    # bins of 2.5 points up to the tenth above the highest score, 90 %
    assert histogram[0].x[-1] == pytest.approx(0.8875)
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
    words = {"email": "e-mail", "sms": "SMS", "none": "no consent"}
    for name, channels in AUDIENCES.items():
        label = AUDIENCE_LABELS[name]
        sizes = {channel: by_channel[words[channel]][label] for channel in words}
        assert sizes == {c: channels.count(c) for c in words}


def test_sections_without_the_churn_risk_marts_say_so_and_the_rest_renders(tmp_path):
    warehouse = make_small_warehouse(tmp_path / "warehouse.duckdb", with_risk=False)
    html = write_report(warehouse, tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    for table in ("churn_risk_scores", "customer_segments", "audience_*"):
        assert f"Not in this warehouse yet: <code>marts.{table}</code>" in html
    assert 'id="chart-risk-tiers"' not in html
    assert html.count("Plotly.newPlot") == 13


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
    assert "newest event 2025-03-30 09:15 UTC" in html  # the latest billing record
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
    assert charts["purchase-spend"].title.endswith(f"({CURRENCY})")
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
    assert html.count("Plotly.newPlot") == 17 - 3
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
        pages.append(render_html(report_data.load(small), RENDERED_AT))
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


def test_the_mrr_trend_reads_mrr_on_the_left_and_arr_on_the_right(small):
    chart = {s.key: s for s in build_sections(report_data.load(small))}["revenue"].charts
    assert list(chart) == ["mrr-trend", "mrr-movements", "mrr-bridge"]
    figure = chart["mrr-trend"].figure
    mrr, arr = figure.data
    assert list(mrr.y) == [1000.0, 1100.0, 1330.0]  # report_helpers.METRICS.mrr_end
    assert list(arr.y) == [12000.0, 13200.0, 15960.0]  # arr_end
    # one line for both: the right axis spans twelve times the left one
    left, right = figure.layout.yaxis.range, figure.layout.yaxis2.range
    assert right[1] == pytest.approx(12 * left[1]) and left[0] == right[0] == 0
    assert figure.layout.yaxis.title.text == f"MRR ({CURRENCY})"
    assert figure.layout.yaxis2.title.text == f"ARR = 12 × MRR ({CURRENCY})"
    assert mrr.hovertemplate.startswith(f"MRR {CURRENCY} %{{y:,.0f}}")
    assert arr.hovertemplate.startswith(f"ARR {CURRENCY} %{{y:,.0f}}")


def money_charts(sections) -> dict[str, object]:
    """The charts of amounts, by id."""
    ids = (
        "mrr-trend",
        "mrr-movements",
        "mrr-bridge",
        "churn-voluntary",
        "clv-distribution",
        "acquisition-cac",
    )
    charts = {cid: c for s in sections for cid, c in s.charts.items()}
    return {cid: charts[cid].figure for cid in ids}


def test_amounts_carry_the_currency_of_the_dbt_project(small, tmp_path, monkeypatch):
    """Not a hard-coded USD: a project reporting in EUR shows EUR on tiles, axes and hovers."""
    report_in_currency("EUR", tmp_path, monkeypatch)
    data = report_data.load(small)
    assert data.contract.currency == "EUR"
    for chart_id, figure in money_charts(build_sections(data)).items():
        titles = [figure.layout.yaxis.title.text, figure.layout.xaxis.title.text]
        assert any(t and t.endswith("(EUR)") for t in titles), chart_id
        assert all("EUR %{" in t.hovertemplate for t in figure.data), chart_id
    html = render_html(data, RENDERED_AT)
    assert tile_labels(html)["mrr"] == 'MRR <span class="currency">(EUR)</span>'
    assert "amounts in EUR (the reporting currency)" in html and "USD" not in html


def test_survival_is_drawn_over_months_since_the_first_payment(small):
    section = {s.key: s for s in build_sections(report_data.load(small))}["value"]
    traces = section.charts["retention-projection"].figure.data
    # the pooled fit mixes period lengths: not on a months axis
    assert {t.legendgroup for t in traces} == {"week-1", "month-1"}
    lines = {t.name: t for t in traces if t.mode == "lines"}
    assert list(lines) == ["weekly", "monthly"]  # shortest period first
    weeks = PROJECTION[PROJECTION["model_segment"] == "week-1"]
    # a week is 12/52 of a month, the inverse of dbt's monthly_factor (52/12 per month)
    assert list(lines["weekly"].x) == pytest.approx(list(weeks["period"] * 12 / 52))
    assert list(lines["weekly"].x)[-1] == pytest.approx(4 * 12 / 52)
    assert list(lines["monthly"].x) == [0, 1, 2]
    dots = {t.legendgroup: t for t in traces if t.mode == "markers"}
    assert list(dots["month-1"].x) == [0, 1]  # period 2 has 5 at risk, below 20
    assert section.charts["retention-projection"].figure.layout.xaxis.title.text == (
        "months since first payment"
    )


def test_only_a_pooled_fit_leaves_a_notice_instead_of_the_survival_chart(tmp_path):
    tables = small_tables()
    tables["retention_projection"] = PROJECTION[PROJECTION["model_segment"] == "pooled"]
    warehouse = write_warehouse(tmp_path / "warehouse.duckdb", tables)
    section = {s.key: s for s in build_sections(report_data.load(warehouse))}["value"]
    assert "retention-projection" not in section.charts
    assert [n.headline for n in section.notices] == ["No billing interval with its own sBG fit"]


def test_churn_reasons_are_in_plain_words(small):
    section = {s.key: s for s in build_sections(report_data.load(small))}["churn"]
    names = {t.name for t in section.charts["churn-reasons"].figure.data}
    assert names == {
        "payment failed (involuntary)",
        "lapsed or paused (voluntary)",
        "too expensive (voluntary)",
        "not using (voluntary)",
    }


def stale_banner(html: str) -> str | None:
    found = re.search(r'<div class="stale" id="stale-data" role="alert">(.*?)</div>', html)
    return found and re.sub("<[^>]+>", "", found.group(1))


def test_a_banner_says_when_the_newest_event_is_more_than_three_days_old(small):
    """report_helpers.AS_OF_AT, the newest event, is 2025-03-31 18:00 UTC."""
    data = report_data.load(small)
    assert data.data_as_of == datetime(2025, 3, 31, 18, 0, tzinfo=UTC)
    fresh = render_html(data, datetime(2025, 4, 3, 18, 0, tzinfo=UTC))  # exactly three days
    assert stale_banner(fresh) is None
    eleven_months = render_html(data, datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    assert stale_banner(eleven_months) == (
        "Stale data: the newest event in this warehouse is from 2025-03-31 18:00 UTC, 334 days "
        "before this page was rendered (2026-03-01 09:30 UTC). Every figure below is as of "
        "then: newer data has not been landed or the pipeline has not run since."
    )
    # the banner comes before the tiles
    assert eleven_months.index('id="stale-data"') < eleven_months.index('id="headline"')
    just_over = render_html(data, datetime(2025, 4, 3, 18, 1, tzinfo=UTC))
    assert "3 days before" in stale_banner(just_over)


def test_no_banner_when_no_mart_records_the_newest_event(tmp_path):
    warehouse = make_small_warehouse(tmp_path / "warehouse.duckdb", as_of_at=None)
    data = report_data.load(warehouse)
    assert data.data_as_of is None
    html = render_html(data, datetime(2030, 1, 1, tzinfo=UTC))
    assert stale_banner(html) is None and "newest event" not in html


def test_a_fresh_warehouse_rendered_now_has_no_banner(tmp_path):
    an_hour_ago = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)) - pd.Timedelta(hours=1)
    warehouse = make_small_warehouse(tmp_path / "warehouse.duckdb", as_of_at=an_hour_ago)
    html = write_report(warehouse).read_text(encoding="utf-8")  # rendered at the clock's now
    assert stale_banner(html) is None
    assert stale_banner(write_report(make_small_warehouse(tmp_path / "old.duckdb")).read_text())


# --- in a browser -------------------------------------------------------------------------------

CHARTS = {
    "mrr-trend",
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
    "acquisition-cac",
    "acquisition-ltv-cac",
}
WIDTHS = (1400, 820)  # a desktop window, and one narrow enough that every chart is full width
RISK_CHARTS = {"risk-tiers", "risk-probability", "value-risk", "audiences"}
PURCHASE_CHARTS = {"purchase-spend", "purchase-alive"}
FORECAST_CHARTS = {"forecast-mrr", "forecast-backtest"}
# the experiment charts -> the rows (mart_rows' keys) that draw them; campaign_lift's complete
# windows draw the table, those of its longest window with a lift the lift chart
EXPERIMENT_CHARTS = {
    "experiments-lift": "campaign_lift complete longest",
    "experiments-lift-table": "campaign_lift complete",
    "experiments-targeting": "uplift_model_evaluation",
    "experiments-targeting-mrr": "uplift_model_evaluation",
    "experiments-actions": "next_best_action",
}
LIFT_WINDOWS = """
    select count(*) filter (where is_window_complete),
        count(*) filter (
            where is_window_complete and retention_lift is not null
                and window_days = (select max(window_days) from marts.campaign_lift)
        )
    from marts.campaign_lift
"""


def marts(warehouse: Path) -> set[str]:
    sql = "select table_name from information_schema.tables where table_schema = 'marts'"
    return {name for (name,) in query(warehouse, sql)}


def mart_rows(warehouse: Path) -> dict[str, int]:
    """Rows of the model and audience marts in the file; a mart that is absent is not a key."""
    names = {
        "churn_risk_scores",
        "customer_segments",
        "purchase_clv_predictions",
        "mrr_forecast",
        "campaign_lift",
        "uplift_model_evaluation",
        "next_best_action",
        *AUDIENCES,
    }
    rows = {
        name: query(warehouse, f"select count(*) from marts.{name}")[0][0]
        for name in names & marts(warehouse)
    }
    if "campaign_lift" in rows:
        complete, longest = query(warehouse, LIFT_WINDOWS)[0]
        rows |= {"campaign_lift complete": complete, "campaign_lift complete longest": longest}
    return rows


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
    if rows.get("mrr_forecast"):
        expected |= FORECAST_CHARTS
    expected |= {chart for chart, key in EXPERIMENT_CHARTS.items() if rows.get(key)}
    return expected


def assert_every_chart_drew(page, expected: set[str]) -> None:
    assert page.errors == []
    assert page.requests == []  # nothing fetched: readable offline, without a server
    assert {c["id"].removeprefix("chart-") for c in page.charts} == expected
    for chart in page.charts:
        assert chart["drawn"] and chart["traces"] > 0, chart
        # sized to its card, not drawn wider and clipped
        assert 200 < chart["width"] <= chart["box"], chart
    assert page.overlaps == []


# chart id -> the axis of amounts: its title ends in the currency code, every hover has it
MONEY_AXES = {
    "mrr-trend": "yaxis",
    "mrr-movements": "yaxis",
    "mrr-bridge": "yaxis",
    "churn-voluntary": "yaxis",
    "clv-distribution": "xaxis",
    "acquisition-cac": "xaxis",
    "purchase-spend": "xaxis",
    "forecast-mrr": "yaxis",
    "experiments-targeting-mrr": "xaxis",
}


def assert_amounts_carry_the_currency(page) -> None:
    for chart_id, axis in MONEY_AXES.items():
        if chart_id not in page.layouts:
            continue
        layout = page.layouts[chart_id]
        assert layout["titles"][axis].endswith(f"({CURRENCY})"), chart_id
        assert all(f"{CURRENCY} %{{" in hover for hover in layout["hovers"]), chart_id


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_small_report_draws_every_chart_in_chromium(small, tmp_path, width):
    html = write_report(small, rendered_at=RENDERED_AT)
    page = open_in_chromium(html, tmp_path / f"small-{width}.png", width)
    assert_every_chart_drew(page, CHARTS | RISK_CHARTS)
    assert page.tiles["mrr"]["value"] == "1,330"
    assert_amounts_carry_the_currency(page)
    assert page.stale is None  # a day after its newest event


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_purchase_only_report_draws_its_charts_in_chromium(purchase_only, tmp_path, width):
    page = open_in_chromium(write_report(purchase_only), tmp_path / "purchases.png", width)
    assert_every_chart_drew(page, PURCHASE_CHARTS)
    assert_amounts_carry_the_currency(page)
    assert page.tiles == {}


@pytest.fixture(scope="module")
def pipeline_report(warehouse, tmp_path_factory):
    """The report of the shared pipeline run, rendered by the CLI: (page, seconds it took)."""
    out = tmp_path_factory.mktemp("report") / "metrics.html"
    started = time.monotonic()
    done = cli("report", "--warehouse", str(warehouse), "--out", str(out), tz="Asia/Kathmandu")
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out}"
    return out, seconds


@pytest.fixture(scope="module")
def pipeline_page(pipeline_report):
    """That report opened in Chromium 1,400 px wide."""
    out, seconds = pipeline_report
    screenshot = out.with_name("report.png")
    page = open_in_chromium(out, screenshot)
    return page, out, screenshot, seconds


@pytest.mark.slow
def test_pipeline_report_draws_every_chart_and_saves_a_screenshot(pipeline_page, warehouse):
    page, out, screenshot, seconds = pipeline_page
    assert_every_chart_drew(page, charts_with_data(mart_rows(warehouse)))
    assert_amounts_carry_the_currency(page)
    assert screenshot.stat().st_size > 50_000
    assert seconds < 60, f"rendering took {seconds:.0f} s"
    assert out.stat().st_size < 15_000_000


@pytest.mark.slow
def test_pipeline_report_reads_without_overlaps_on_a_narrow_page(pipeline_report, warehouse):
    out, _ = pipeline_report
    page = open_in_chromium(out, out.with_name("report-820.png"), width=820)
    assert_every_chart_drew(page, charts_with_data(mart_rows(warehouse)))


@pytest.mark.slow
def test_pipeline_report_says_whether_its_data_is_stale(pipeline_page, warehouse):
    """Rendered by the CLI at the clock's now: a banner exactly when the newest event (the
    latest subscription event or billing record the marts record) is over three days older."""
    page = pipeline_page[0]
    ((subscriptions,),) = query(warehouse, "select max(as_of_at) from marts.dim_subscribers")
    ((billing,),) = query(warehouse, "select max(calibration_end_at) from marts.one_off_purchases")
    newest = max(t for t in (subscriptions, billing) if t is not None).replace(tzinfo=UTC)
    age = datetime.now(UTC) - newest
    assert (page.stale is not None) == (age.total_seconds() > 3 * 86400)
    if page.stale:
        assert f"the newest event in this warehouse is from {newest:%Y-%m-%d %H:%M} UTC" in (
            page.stale
        )


def documented_ltv(months: pd.DataFrame) -> float:
    """docs/metrics.md's formula LTV at the last of `months` (one row per month, in order):
    trailing ARPA / trailing logo churn, the lifetime capped, times the gross margin."""
    window = months.tail(PROJECT_VARS["clv_trailing_months"])
    arpa = window["mrr_end"].sum() / window["customers_end"].sum()
    starts = window["customers_start"].sum()
    churn = window["churned_customers"].sum() / starts if starts else 0.0
    cap = PROJECT_VARS["clv_max_lifetime_months"]
    lifetime = min(1 / churn, cap) if churn > 0 else cap
    return arpa * PROJECT_VARS["gross_margin"] * lifetime


def published(warehouse: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.mark.slow
def test_pipeline_ltv_to_cac_uses_each_channel_s_own_ltv(warehouse):
    metrics = published(
        warehouse, "select * from marts.subscription_metrics_monthly order by month_start"
    )
    # the project's vars are those the warehouse was built with: they give its company LTV
    assert documented_ltv(metrics) == pytest.approx(metrics["formula_ltv"].iloc[-1], rel=1e-9)
    campaigns = published(
        warehouse,
        "select acquisition_channel, acquisition_campaign_id, paying_customers, "
        "cast(spend as double) as spend, channel_formula_ltv "
        "from marts.acquisition_performance where spend > 0",
    )
    subscribers = published(
        warehouse,
        "select customer_id, coalesce(acquisition_channel, 'unknown') as acquisition_channel, "
        "acquisition_campaign_id from marts.dim_subscribers",
    )
    mrr = published(
        warehouse,
        "select customer_id, month_start, cast(mrr as double) as mrr, "
        "cast(mrr_previous as double) as mrr_previous, movement "
        "from marts.fct_customer_mrr_monthly",
    )
    acquired = mrr.merge(subscribers, on="customer_id").merge(
        campaigns[["acquisition_channel", "acquisition_campaign_id"]],
        on=["acquisition_channel", "acquisition_campaign_id"],
    )
    months = pd.to_datetime(metrics["month_start"])
    expected = {}
    for channel, rows in acquired.groupby("acquisition_channel"):
        by_month = (
            rows.assign(
                customers_start=rows["mrr_previous"] > 0,
                customers_end=rows["mrr"] > 0,
                churned_customers=rows["movement"] == "churn",
                mrr_end=rows["mrr"],
                month_start=pd.to_datetime(rows["month_start"]),
            )
            .groupby("month_start")[
                ["customers_start", "customers_end", "churned_customers", "mrr_end"]
            ]
            .sum()
            .reindex(months, fill_value=0)
        )
        spend = campaigns[campaigns["acquisition_channel"] == channel]
        cac = spend["spend"].sum() / spend["paying_customers"].sum()
        expected[channel.replace("_", " ")] = (documented_ltv(by_month), cac)
    # dbt publishes that LTV, one value on each of the channel's rows (int_channels__formula_ltv)
    mart_ltv = (
        campaigns.groupby("acquisition_channel")["channel_formula_ltv"].agg(["min", "max"]).dropna()
    )
    assert (mart_ltv["min"] == mart_ltv["max"]).all()
    assert {c.replace("_", " "): v for c, v in mart_ltv["max"].items()} == {
        name: pytest.approx(ltv, rel=1e-9) for name, (ltv, _) in expected.items()
    }
    section = {s.key: s for s in build_sections(report_data.load(warehouse))}["acquisition"]
    own = section.charts["acquisition-ltv-cac"].figure.data[0]
    drawn = {
        name: (ltv, cac, ratio)
        for name, (ltv, cac), ratio in zip(own.y, own.customdata, own.x, strict=True)
    }
    assert set(drawn) == set(expected) and len(drawn) > 1
    for name, (ltv, cac) in expected.items():
        assert drawn[name] == (pytest.approx(ltv), pytest.approx(cac), pytest.approx(ltv / cac))
    # the point of it: channels no longer share one company-wide LTV
    assert len({round(ltv) for ltv, _, _ in drawn.values()}) > 1


@pytest.mark.slow
def test_pipeline_survival_is_in_months_per_billing_interval(warehouse):
    intervals = published(
        warehouse,
        "select distinct segment, billing_interval, interval_count "
        "from marts.subscription_lifetimes",
    )
    # the months a billing period lasts, as dbt's monthly_factor macro normalises MRR
    per_interval = {"day": 12 / 365, "week": 12 / 52, "month": 1, "year": 12}
    months = {
        row.segment: per_interval[row.billing_interval] * row.interval_count
        for row in intervals.itertuples()
    }
    section = {s.key: s for s in build_sections(report_data.load(warehouse))}["value"]
    traces = section.charts["retention-projection"].figure.data
    assert traces and "pooled" not in {t.legendgroup for t in traces}
    for trace in traces:
        # dots carry (period, at risk), dashes the period alone
        carried = np.asarray(trace.customdata)
        periods = carried[:, 0] if carried.ndim == 2 else carried
        assert list(trace.x) == pytest.approx(list(periods * months[trace.legendgroup]))


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
    ranges = published(
        warehouse,
        "select risk_tier, min(churn_probability) as low, max(churn_probability) as high "
        "from marts.churn_risk_scores group by risk_tier",
    ).set_index("risk_tier")
    section = {s.key: s for s in build_sections(report_data.load(warehouse))}["risk"]
    labels = list(section.charts["risk-tiers"].figure.data[0].x)
    assert labels == [
        f"{tier.title()}<br>p {ranges.loc[tier, 'low'] * 100:.1f}–{ranges.loc[tier, 'high']:.1%}"
        for tier in ("high", "medium", "low")
    ]
    assert bool(rows.get("customer_segments")) == ("value-risk" in drawn)
    audiences = [a for a in AUDIENCES if a in rows]
    assert any(rows[a] for a in audiences) == ("audiences" in drawn)
    for name in audiences:
        (size,) = query(warehouse, f"select count(*) from marts.{name}")[0]
        assert page.audience_sizes.get(AUDIENCE_LABELS[name], 0) == size, name
