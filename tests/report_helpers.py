"""For the report tests: a small hand-made warehouse, and opening a page in headless Chromium."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

# three months whose bridges close: start + new + expansion + reactivation − contraction − churned
METRICS = pd.DataFrame(
    {
        "month_start": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
        "customers_start": [0, 10, 11],
        "customers_end": [10, 11, 13],
        "mrr_start": [0.0, 1000.0, 1100.0],
        "new_mrr": [1000.0, 200.0, 300.0],
        "expansion_mrr": [0.0, 100.0, 50.0],
        "reactivation_mrr": [0.0, 0.0, 20.0],
        "contraction_mrr": [0.0, 50.0, 30.0],
        "churned_mrr": [0.0, 150.0, 110.0],
        "mrr_end": [1000.0, 1100.0, 1330.0],
        "voluntary_churned_mrr": [0.0, 100.0, 110.0],
        "involuntary_churned_mrr": [0.0, 50.0, 0.0],
        "arr_end": [12000.0, 13200.0, 15960.0],
        "logo_churn_rate": [None, 0.1, 2 / 11],
        "gross_mrr_churn_rate": [None, 0.2, 140 / 1100],
        "net_mrr_churn_rate": [None, 0.1, 70 / 1100],
        "net_revenue_retention": [None, 0.9, 1010 / 1100],
        "arpa": [100.0, 100.0, 1330 / 13],
        "formula_ltv": [1200.0, 1000.0, 1100.0],
    }
)
COHORTS = pd.DataFrame(
    {
        "cohort_month": pd.to_datetime(["2025-01-01"] * 3 + ["2025-02-01"] * 2 + ["2025-03-01"]),
        "months_since_start": [0, 1, 2, 0, 1, 0],
        "cohort_customers": [10, 10, 10, 2, 2, 3],
        "logo_retention": [1.0, 0.9, 0.8, 1.0, 0.5, 1.0],
        "revenue_retention": [1.0, 0.95, 1.05, 1.0, 0.6, 1.0],
    }
)
# not_canceled: MRR that ended without a cancel (a pause), which the page calls "lapsed or paused"
CHURN_REASONS = pd.DataFrame(
    {
        "month_start": pd.to_datetime(["2025-02-01", "2025-02-01", "2025-03-01", "2025-03-01"]),
        "churn_type": ["involuntary", "voluntary", "voluntary", "voluntary"],
        "churn_reason": ["payment_failed", "not_canceled", "too_expensive", "not_using"],
        "churned_customers": [1, 1, 1, 1],
        "churned_mrr": [50.0, 100.0, 60.0, 50.0],
    }
)
TRIALS = pd.DataFrame(
    {
        "trial_month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
        "trials_started": [20, 25, 30],
        "trials_converted": [10, 10, 6],
        "trial_conversion_rate": [0.5, 0.4, 0.2],
    }
)
CLV = pd.DataFrame(
    {
        "customer_id": [f"c{i}" for i in range(6)],
        "formula_clv": [150.0, 900.0, 2500.0, 2500.0, 40000.0, 0.0],
        "is_paying": [True, True, True, True, True, False],
    }
)
CLV_PREDICTIONS = pd.DataFrame(
    {"customer_id": ["c0", "c1", "c1", "c2"], "predicted_residual_value": [100.0, 400, 500, 3000]}
)
# monthly and weekly plans with their own fits (periods of a month, of 12/52 of a month), and
# the pooled fit, whose periods mix lengths
PROJECTION = pd.DataFrame(
    {
        "model_segment": ["month-1"] * 3 + ["week-1"] * 5 + ["pooled"] * 2,
        "period": [0, 1, 2, 0, 1, 2, 3, 4, 0, 1],
        "subscriptions_at_risk": [100, 80, 5, 60, 50, 40, 30, 21, 160, 130],
        "observed_survival": [1.0, 0.8, 0.0, 1.0, 0.9, 0.8, 0.7, 0.6, 1.0, 0.85],
        "projected_survival": [1.0, 0.78, 0.62, 1.0, 0.88, 0.79, 0.71, 0.64, 1.0, 0.83],
    }
)
# paid_search: two campaigns, 1,500 spent on 15 paying customers; paid_social: one, 400 on 4;
# organic has no spend. channel_formula_ltv is each channel's own (dbt: int_channels__formula_ltv),
# worked out by hand over January to March 2025 of the customers its campaigns acquired:
# paid_search  Jan: 0 paying at start, 2 at end (MRR 150); Feb: 2, 2 (180), one churned;
#   Mar: 2, 3 (280): ARPA 610 / 7, logo churn 1 / 4: LTV = 610 / 7 × 4 = 348.57 (4 months)
# paid_social  Jan: 0, 1 (40); Feb: 1, 2 (60); Mar: 2, 1 (40), one churned:
#   ARPA 140 / 4 = 35, logo churn 1 / 3: LTV = 35 × 3 = 105
# and a company-wide formula_ltv of 1,100 on every row, which would give them one ratio per CAC
ACQUISITION = pd.DataFrame(
    {
        "acquisition_channel": ["paid_search", "paid_search", "paid_social", "organic"],
        "acquisition_campaign_id": ["cmp_1", "cmp_2", "cmp_3", "none"],
        "customers_acquired": [20, 8, 6, 40],
        "paying_customers": [10, 5, 4, 30],
        "spend": [1000.0, 500.0, 400.0, 0.0],
        "avg_historical_net_revenue": [300.0, 120.0, 50.0, 200.0],
        "formula_ltv": [1100.0, 1100.0, 1100.0, 1100.0],
        "channel_formula_ltv": [610 / 7 * 4, 610 / 7 * 4, 105.0, None],
    }
)
# the newest subscription event (int_as_of.subscriptions_as_of_at, on every subscriber's row)
AS_OF_AT = pd.Timestamp("2025-03-31 18:00:00")
SUBSCRIBERS = pd.DataFrame(
    {
        "customer_id": ["s1", "s2", "s3", "s4", "p1", "p2", "o1", "x1"],
        "as_of_at": [AS_OF_AT] * 8,
    }
)
RISK_SCORES = pd.DataFrame(
    {
        "customer_id": ["c0", "c1", "c2", "c3", "c4"],
        "scored_at": pd.to_datetime(["2025-03-31"] * 5),
        "churn_probability": [0.9, 0.7, 0.4, 0.1, 0.05],
        "risk_tier": ["high", "high", "medium", "low", "low"],
        "top_factors": ["failed_payments", "low_usage", "tickets", "", ""],
    }
)
SEGMENTS = pd.DataFrame(
    {
        "customer_id": ["c0", "c1", "c2", "c3", "c4"],
        "value_tier": ["high", "low", "medium", "high", "low"],
        "risk_tier": ["high", "high", "medium", "low", "low"],
        "segment": ["save", "let_go", "watch", "grow", "nurture"],
    }
)
AUDIENCES = {
    "audience_at_risk_high_value": ["email"],
    "audience_win_back": ["email", "sms", "none"],
    "audience_dunning": ["email", "email"],
    "audience_trial_not_converted": ["sms"],
    "audience_upsell": ["email", "none"],
    "audience_re_engage": ["email", "email", "sms"],
}


# one-off buyers of a business without subscriptions: (repeat purchase weeks, recency weeks,
# age weeks, P(alive), predicted spend); weeks since the last purchase = age − recency
PURCHASE_ROWS = [
    (0, 0, 10, 1.0, 5.0),  # no repeat, 10 weeks since
    (0, 0, 30, 1.0, 12.0),  # no repeat, 30
    (1, 10, 30, 0.6, 40.0),  # 1 repeat, 20
    (1, 20, 30, 0.9, 75.0),  # 1 repeat, 10
    (2, 30, 40, 0.8, 150.0),  # 2–3 repeats, 10
    (3, 40, 50, 0.7, 300.0),  # 2–3 repeats, 10
    (5, 50, 60, 0.95, 900.0),  # 4+ repeats, 10
    (8, 60, 60, 0.99, 2400.0),  # 4+ repeats, 0
]
PURCHASES = pd.DataFrame(
    {
        "customer_id": [f"p{i}" for i in range(len(PURCHASE_ROWS))],
        "repeat_purchase_weeks": [r[0] for r in PURCHASE_ROWS],
        "recency_weeks": [r[1] for r in PURCHASE_ROWS],
        "age_weeks": [r[2] for r in PURCHASE_ROWS],
        "avg_repeat_purchase_value": [30.0] * len(PURCHASE_ROWS),
        "probability_alive": [r[3] for r in PURCHASE_ROWS],
        "expected_purchases": [1.0] * len(PURCHASE_ROWS),
        "expected_average_spend": [r[4] for r in PURCHASE_ROWS],
        "predicted_spend": [r[4] for r in PURCHASE_ROWS],
        "horizon_weeks": [52] * len(PURCHASE_ROWS),
        # fitted parameters, repeated on each row; the report does not read them
        **{
            name: [1.5] * len(PURCHASE_ROWS) for name in ("r", "alpha", "a", "b", "p", "q", "gamma")
        },
    }
)


PURCHASES_AS_OF_AT = pd.Timestamp("2025-03-30 09:15:00")


def audience_table(channels: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(channels))],
            "email_hash": [f"h{i}" for i in range(len(channels))],
            "reason": ["test"] * len(channels),
            "preferred_channel": pd.Series(channels, dtype="object"),
        }
    )


def small_tables(
    with_risk: bool = True, campaigns: bool = True, as_of_at: pd.Timestamp | None = AS_OF_AT
) -> dict[str, pd.DataFrame]:
    """The marts of a business with subscriptions; without campaigns no row carries spend;
    `as_of_at` is its newest event, and None leaves out the marts that carry one."""
    tables = {
        "subscription_metrics_monthly": METRICS,
        "cohort_retention_monthly": COHORTS,
        "churn_reasons_monthly": CHURN_REASONS,
        "trial_conversion_monthly": TRIALS,
        "customer_lifetime_value": CLV,
        "clv_predictions": CLV_PREDICTIONS,
        "retention_projection": PROJECTION,
        "acquisition_performance": (
            ACQUISITION if campaigns else ACQUISITION[ACQUISITION["spend"] == 0]
        ),
    }
    if as_of_at is not None:
        tables["dim_subscribers"] = SUBSCRIBERS.assign(as_of_at=as_of_at)
    if with_risk:
        tables["churn_risk_scores"] = RISK_SCORES
        tables["customer_segments"] = SEGMENTS
        for name, channels in AUDIENCES.items():
            tables[name] = audience_table(channels)
    return tables


def make_small_warehouse(
    path: Path,
    with_risk: bool = True,
    campaigns: bool = True,
    empty: tuple[str, ...] = (),
    as_of_at: pd.Timestamp | None = AS_OF_AT,
) -> Path:
    """A published-warehouse-shaped file holding only the columns the report reads; the marts
    named in `empty` are there with their columns but no rows."""
    tables = small_tables(with_risk, campaigns, as_of_at)
    return write_warehouse(path, {n: t.head(0) if n in empty else t for n, t in tables.items()})


def make_purchase_only_warehouse(path: Path, purchases: pd.DataFrame = PURCHASES) -> Path:
    """A business selling one-off purchases only: every subscription mart (and every model on
    subscriptions) is built but empty; its customers are on file, none of them paying."""
    tables = {name: frame.head(0) for name, frame in small_tables().items()}
    tables["customer_lifetime_value"] = CLV.assign(formula_clv=0.0, is_paying=False)
    tables["purchase_clv_predictions"] = purchases
    # no subscription event: the as-of instant is the latest billing record's
    tables["dim_subscribers"] = SUBSCRIBERS.assign(as_of_at=pd.NaT)
    tables["one_off_purchases"] = pd.DataFrame(
        {"customer_id": ["p0"], "calibration_end_at": [PURCHASES_AS_OF_AT]}
    )
    return write_warehouse(path, tables)


def write_warehouse(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts; create schema audit")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create table marts.{name} as select * from frame")
            con.unregister("frame")
        con.execute(
            "create table audit.publication as "
            "select 'run-1' as run_id, timestamp '2025-03-31 23:10:00' as published_at"
        )
    finally:
        con.close()
    return path


@dataclass(frozen=True)
class OpenedPage:
    errors: list[str]  # console errors and uncaught exceptions
    requests: list[str]  # every URL the page asked for other than itself
    charts: list[dict]  # per plotly div: id, drawn (has .main-svg), traces, widths
    tiles: dict[str, dict[str, str]]  # data-metric -> {value, change}
    bridge_text: list[str]  # the waterfall's bar labels
    movement_months: int  # x values of the MRR movements chart
    heatmap_rows: dict[str, int]  # cohort heatmap id -> number of rows
    risk_tier_counts: list[int]  # bars of the risk-tier chart (empty when not drawn)
    audience_sizes: dict[str, int]  # audience label -> customers over every channel
    # chart id -> {"titles": {axis name: title}, "hovers": [each trace's hovertemplate]}
    layouts: dict[str, dict]
    stale: str | None  # the stale-data banner's text, None when there is none
    overlaps: list[str]  # drawn text (ticks, legends, bar and cell labels) running into other


def report_in_currency(currency: str, folder: Path, monkeypatch) -> None:
    """Make the report read a copy of dbt_project.yml whose reporting currency is `currency`."""
    from subscriber_warehouse.report import data as report_data

    project = folder / "dbt_project.yml"
    text = report_data.DBT_PROJECT.read_text(encoding="utf-8")
    project.write_text(
        re.sub(r"reporting_currency: \w+", f"reporting_currency: {currency}", text),
        encoding="utf-8",
    )
    monkeypatch.setattr(report_data, "DBT_PROJECT", project)


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is not installed: `make setup` installs it")
    return path


def open_in_chromium(html: Path, screenshot: Path, width: int = 1400) -> OpenedPage:
    """Load the page from disk with the network cut off, wait for every chart, screenshot it
    (the whole page, `width` pixels wide)."""
    from playwright.sync_api import sync_playwright

    errors, requests = [], []
    page_url = html.resolve().as_uri()

    def only_the_page(route):
        if route.request.url != page_url:
            requests.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path())
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", only_the_page)
            page.goto(page_url, wait_until="load")
            page.wait_for_function(_ALL_DRAWN, timeout=60_000)
            page.screenshot(path=str(screenshot), full_page=True)
            facts = page.evaluate(_FACTS)
            facts["overlaps"] = page.evaluate(_OVERLAPS)
        finally:
            browser.close()
    return OpenedPage(errors=errors, requests=requests, **facts)


_ALL_DRAWN = """() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return divs.length > 0 && divs.every(d => d.querySelector('.main-svg'));
}"""

_FACTS = """() => {
  const audienceSizes = div => {
    const sizes = {};
    for (const trace of div?._fullData || []) {
      Array.from(trace.y).forEach((label, i) => {
        sizes[label] = (sizes[label] || 0) + Number(trace.x[i]);
      });
    }
    return sizes;
  };
  const charts = [...document.querySelectorAll('.plotly-graph-div')].map(d => ({
    id: d.id,
    drawn: d.querySelector('.main-svg') !== null,
    traces: (d._fullData || []).length,
    width: d.querySelector('.main-svg')?.getBoundingClientRect().width || 0,
    box: d.closest('figure').getBoundingClientRect().width,
  }));
  const tiles = {};
  for (const t of document.querySelectorAll('.tile')) {
    tiles[t.dataset.metric] = {
      value: t.querySelector('.value').textContent,
      change: t.querySelector('.change').textContent,
    };
  }
  const bridge = document.getElementById('chart-mrr-bridge');
  const movements = document.getElementById('chart-mrr-movements');
  const rows = id => (document.getElementById(id)?.data[0].y || []).length;
  const layouts = {};
  for (const d of document.querySelectorAll('.plotly-graph-div')) {
    const titles = {};
    for (const [key, axis] of Object.entries(d._fullLayout || {}))
      if (/^[xy]axis[0-9]*$/.test(key)) titles[key] = axis.title?.text || '';
    layouts[d.id.replace('chart-', '')] = {
      titles, hovers: (d._fullData || []).map(t => t.hovertemplate || ''),
    };
  }
  return {
    charts,
    tiles,
    bridge_text: bridge ? bridge.data[0].text : [],
    movement_months: movements ? movements.data[0].x.length : 0,
    heatmap_rows: {'cohort-logo': rows('chart-cohort-logo'),
                   'cohort-revenue': rows('chart-cohort-revenue')},
    risk_tier_counts: Array.from(document.getElementById('chart-risk-tiers')?._fullData[0].y || []),
    audience_sizes: audienceSizes(document.getElementById('chart-audiences')),
    layouts,
    stale: document.getElementById('stale-data')?.textContent ?? null,
  };
}"""

# pairs of drawn boxes that intersect by more than a pixel each way, per chart: tick labels of one
# axis, bar labels, heatmap cell labels, an annotation and a bar, a legend and a plot area or an
# annotation; and a legend must lie inside its figure
_OVERLAPS = """() => {
  const box = el => el.getBoundingClientRect();
  const visible = el => box(el).width > 0 && el.textContent.trim() !== '';
  const meet = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1
    && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const texts = (root, sel) => [...root.querySelectorAll(sel)].filter(visible);
  const found = [];
  const pairwise = (id, what, els) => {
    for (let i = 0; i < els.length; i++) for (let j = i + 1; j < els.length; j++)
      if (meet(box(els[i]), box(els[j])))
        found.push(`${id}: ${what} "${els[i].textContent}" and "${els[j].textContent}"`);
  };
  for (const div of document.querySelectorAll('.plotly-graph-div')) {
    const id = div.id;
    for (const layer of div.querySelectorAll('g[class$="axislayer-above"]'))
      pairwise(id, 'tick labels', texts(layer, 'g[class$="tick"] text'));
    pairwise(id, 'bar labels', texts(div, 'text.bartext'));
    pairwise(id, 'cell labels', texts(div, 'g.heatmap-label text'));
    for (const note of texts(div, '.annotation'))
      for (const bar of div.querySelectorAll('.barlayer .point path'))
        if (meet(box(note), box(bar))) {
          found.push(`${id}: "${note.textContent}" on a bar`);
          break;
        }
    const legend = div.querySelector('.legend .bg');
    if (legend) {
      for (const plot of div.querySelectorAll('.nsewdrag'))
        if (meet(box(legend), box(plot))) found.push(`${id}: the legend and a plot area`);
      for (const note of texts(div, '.annotation'))
        if (meet(box(legend), box(note))) found.push(`${id}: the legend and "${note.textContent}"`);
      const figure = box(div.querySelector('.main-svg')), own = box(legend);
      if (own.left < figure.left - 1 || own.right > figure.right + 1 || own.top < figure.top - 1)
        found.push(`${id}: the legend outside its figure`);
    }
  }
  return found;
}"""
