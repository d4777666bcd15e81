"""One self-contained HTML page: tiles, then sections of inline plotly charts."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from subscriber_warehouse.report import data as report_data
from subscriber_warehouse.report.sections import Notice, Section, build_sections, no_subscriptions
from subscriber_warehouse.report.tiles import Tile, build_tiles, month_label

# small on purpose: a page one can open from disk, e-mail, or attach to a ticket
CSS = """
body { margin: 0; background: #f4f6f8; color: #1c2733;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { background: #102a43; color: #fff; padding: 20px 32px 12px; }
h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
.meta { margin: 0 0 10px; color: #bcccdc; }
nav a { color: #d9e2ec; margin-right: 16px; text-decoration: none; font-size: 13px;
  display: inline-block; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
main { padding: 20px 32px; max-width: 1500px; margin: 0 auto; }
.tiles { display: grid; gap: 12px; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); }
.tile { background: #fff; border-radius: 8px; padding: 14px 16px;
  box-shadow: 0 1px 3px rgba(16, 42, 67, .12); }
.tile .label { color: #52606d; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile .value { font-size: 24px; font-weight: 600; margin: 2px 0;
  font-variant-numeric: tabular-nums; }
.change { font-size: 12px; color: #7b8794; }
.change.good { color: #2e7d32; } .change.bad { color: #c62828; }
.report-section { margin-top: 28px; }
h2 { font-size: 18px; margin: 0 0 2px; }
.note { margin: 0 0 10px; color: #52606d; }
.missing { margin: 4px 0; padding: 8px 12px; background: #fff8e1; border-left: 3px solid #ffb300; }
.stale { margin: 0 0 16px; padding: 10px 14px; background: #fdecea; color: #7f1d1d;
  border-left: 4px solid #c62828; border-radius: 4px; }
/* auto-fill, not auto-fit: a chart is sized when drawn, before its neighbours exist */
.charts { display: grid; gap: 16px; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); }
.chart { background: #fff; border-radius: 8px; padding: 8px 8px 4px; margin: 0;
  box-shadow: 0 1px 3px rgba(16, 42, 67, .12); min-width: 0; }
.chart.wide { grid-column: 1 / -1; }
figcaption { font-weight: 600; font-size: 14px; padding: 4px 8px; }
footer { padding: 16px 32px 32px; color: #7b8794; font-size: 12px; text-align: center; }
"""
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
# a daily pipeline's data is at most a day or two old (a weekend, a late landing); older than this
# and the page says so above everything else
STALE_AFTER = timedelta(days=3)


def report_path(warehouse: Path) -> Path:
    """Where a warehouse's report lives: beside it, e.g. data/warehouse.report.html."""
    return Path(warehouse).with_suffix(".report.html")


def write_report(
    warehouse: Path, out: Path | None = None, rendered_at: datetime | None = None
) -> Path:
    """Render the report of a published warehouse (opened read-only) and write it atomically;
    `rendered_at` (default now) is what the data's age is measured against."""
    out = Path(out) if out else report_path(warehouse)
    html = render_html(report_data.load(warehouse), rendered_at)
    out.parent.mkdir(parents=True, exist_ok=True)
    # written beside, then renamed over: a reader never sees half a page
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def render_html(data: report_data.ReportData, rendered_at: datetime | None = None) -> str:
    rendered_at = rendered_at or datetime.now(UTC)
    as_of, dated_by = _as_of(data)
    sections = build_sections(data)
    published = f" · published {data.published_at}" if data.published_at else ""
    newest = f" · newest event {_instant(data.data_as_of)}" if data.data_as_of else ""
    currency = escape(data.contract.currency)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Subscriber Warehouse · metrics as of {escape(as_of)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>Subscription metrics</h1>",
        f'<p class="meta">As of {escape(as_of)} ({escape(dated_by)}){escape(newest)}'
        f"{escape(published)} · amounts in {currency} (the reporting currency)</p>",
        _nav(sections),
        "</header><main>",
        _stale_banner(data.data_as_of, rendered_at),
        _headline(data),
        *_sections(sections),
        "</main><footer>Definitions: docs/metrics.md (the metric contract). "
        "Regenerate with <code>subscriber-warehouse report</code>.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _as_of(data: report_data.ReportData) -> tuple[str, str]:
    """(the date the page is of, what dates it): the latest metric month, else the publication,
    which a business with one-off purchases only still has (never the machine's clock)."""
    if data.subscribed:
        return (
            month_label(data["metrics"]["month_start"].iloc[-1]),
            "the latest month with data; it may be partial",
        )
    if data.published_at:
        date = data.published_at.split(" ")[0]
        return date, "the publication date; no subscription months to date it by"
    return "an unknown date", "no subscription months and no publication record"


def _instant(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def is_stale(data_as_of: datetime | None, rendered_at: datetime) -> bool:
    """Whether the newest event is more than STALE_AFTER before the page was rendered."""
    return data_as_of is not None and rendered_at - data_as_of > STALE_AFTER


def _stale_banner(data_as_of: datetime | None, rendered_at: datetime) -> str:
    if not is_stale(data_as_of, rendered_at):
        return ""
    days = (rendered_at - data_as_of).days
    return (
        '<div class="stale" id="stale-data" role="alert"><strong>Stale data:</strong> the newest '
        f"event in this warehouse is from {_instant(data_as_of)}, {days:,} days before this page "
        f"was rendered ({_instant(rendered_at)}). Every figure below is as of then: newer data "
        "has not been landed or the pipeline has not run since.</div>"
    )


def _headline(data: report_data.ReportData) -> str:
    """The tiles are all subscription metrics: without subscriptions the row says so instead."""
    if not data.subscribed:
        notice = no_subscriptions(
            "the headline tiles (MRR, ARR, customers, churn, NRR, ARPA, CLV) need"
        )
        return f'<section id="headline">{_notice(notice)}</section>'
    metrics = data["metrics"]
    latest = metrics.iloc[-1]
    previous = metrics.iloc[-2] if len(metrics) > 1 else None
    since = "" if previous is None else f" vs {month_label(previous['month_start'])}"
    return _tiles(build_tiles(latest, previous, data.contract.currency), since)


def _unit(unit: str) -> str:
    # on the label, not the value: "USD 5,215,462" in the value's large type wraps a narrow tile
    return f' <span class="currency">({escape(unit)})</span>' if unit else ""


def _nav(sections: list[Section]) -> str:
    links = "".join(f'<a href="#{s.key}">{escape(s.title)}</a>' for s in sections)
    return f"<nav>{links}</nav>"


def _tiles(tiles: list[Tile], since: str) -> str:
    cells = "".join(
        f'<div class="tile" data-metric="{t.key}" title="{escape(t.hint)}">'
        f'<div class="label">{escape(t.label)}{_unit(t.unit)}</div>'
        f'<div class="value">{escape(t.value)}</div>'
        f'<div class="change {t.tone}">{escape(t.change)}{escape(since)}</div></div>'
        for t in tiles
    )
    return f'<section class="tiles" id="headline">{cells}</section>'


def _sections(sections: list[Section]) -> list[str]:
    html, plotly_included = [], False
    for section in sections:
        charts = []
        for chart_id, chart in section.charts.items():
            # plotly.js goes inline once, with the first chart; the others reuse it
            charts.append(
                f'<figure class="chart{" wide" if chart.wide else ""}">'
                f"<figcaption>{escape(chart.title)}</figcaption>"
                + chart.figure.to_html(
                    full_html=False,
                    include_plotlyjs=not plotly_included,
                    div_id=f"chart-{chart_id}",
                    config=PLOTLY_CONFIG,
                )
                + "</figure>"
            )
            plotly_included = True
        notices = "".join(_notice(n) for n in section.notices)
        grid = f'<div class="charts">{"".join(charts)}</div>' if charts else ""
        html.append(
            f'<section class="report-section" id="{section.key}">'
            f'<h2>{escape(section.title)}</h2><p class="note">{escape(section.note)}</p>'
            f"{notices}{grid}</section>"
        )
    return html


def _notice(notice: Notice) -> str:
    detail = f"<code>{escape(notice.detail)}</code>" if notice.mart else escape(notice.detail)
    return f'<p class="missing">{escape(notice.headline)}: {detail}</p>'
