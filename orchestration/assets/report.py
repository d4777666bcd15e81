"""After publishing: the metrics report, an HTML page beside the published warehouse."""

import dagster as dg

from orchestration.resources import Warehouse
from subscriber_warehouse.report import report_path, write_report


@dg.asset(
    key=["report", "metrics_report"],
    deps=[dg.AssetKey(["published", "warehouse"])],
    group_name="report",
    kinds={"html", "plotly"},
    owners=["team:analytics-engineering"],
    description="Self-contained HTML report of the published marts (headline tiles, MRR, churn, "
    "cohorts, trials, CLV, churn risk, acquisition), written beside the published file; "
    "`subscriber-warehouse report` renders the same page on demand.",
)
def metrics_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    # reads the published file, never the working one: the page shows exactly what BI sees
    path = write_report(warehouse.published, report_path(warehouse.published))
    size = path.stat().st_size
    context.log.info(f"metrics report: {path} ({size:,} bytes)")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "bytes": size})
