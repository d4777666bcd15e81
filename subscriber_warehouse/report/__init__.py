"""The metrics report: a self-contained HTML page of the published warehouse's marts."""

from subscriber_warehouse.report.data import ReportError
from subscriber_warehouse.report.render import render_html, report_path, write_report

__all__ = ["ReportError", "render_html", "report_path", "write_report"]
