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
from report_helpers import AUDIENCES, make_small_warehouse, open_in_chromium

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


def marts(warehouse: Path) -> set[str]:
    sql = "select table_name from information_schema.tables where table_schema = 'marts'"
    return {name for (name,) in query(warehouse, sql)}


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
    tables = marts(warehouse)
    expected = CHARTS | (RISK_CHARTS if "churn_risk_scores" in tables else set())
    assert_every_chart_drew(page, expected)
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
    tables = marts(warehouse)
    if "churn_risk_scores" not in tables:
        pytest.skip(
            "marts.churn_risk_scores is not built by the pipeline yet: churn-risk and audience "
            "charts are checked only on the hand-made warehouse"
        )
    page = pipeline_page[0]
    drawn = {c["id"].removeprefix("chart-") for c in page.charts if c["drawn"]}
    assert {"risk-tiers", "risk-probability"} <= drawn
    (scored,) = query(warehouse, "select count(*) from marts.churn_risk_scores")[0]
    assert sum(page.risk_tier_counts) == scored
    assert ("customer_segments" in tables) == ("value-risk" in drawn)
    audiences = [a for a in AUDIENCES if a in tables]
    assert bool(audiences) == ("audiences" in drawn)
    for name in audiences:
        (size,) = query(warehouse, f"select count(*) from marts.{name}")[0]
        label = name.removeprefix("audience_").replace("_", " ")
        assert page.audience_sizes.get(label, 0) == size, name
