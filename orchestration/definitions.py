"""The one `Definitions` of Subscriber Warehouse."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.exports import audience_exports
from orchestration.assets.predictive import predictive_assets
from orchestration.assets.publish import published_warehouse
from orchestration.assets.raw import raw_assets
from orchestration.assets.report import metrics_report
from orchestration.checks import gates
from orchestration.dbt import DBT_ASSETS
from orchestration.jobs import pipeline_job
from orchestration.resources import Warehouse, default_warehouse
from orchestration.run_status import quality_report_sensors, run_failure_alert
from orchestration.schedules import daily_pipeline_schedule
from orchestration.sensors import landing_files_sensor


def build_definitions(warehouse: Warehouse | None = None) -> dg.Definitions:
    warehouse = warehouse or default_warehouse()
    return dg.Definitions(
        assets=[
            *raw_assets(warehouse.billing_source),
            *DBT_ASSETS,
            *predictive_assets,
            published_warehouse,
            audience_exports,
            metrics_report,
        ],
        asset_checks=gates(warehouse.billing_source),
        jobs=[pipeline_job],
        schedules=[daily_pipeline_schedule],
        sensors=[landing_files_sensor, run_failure_alert, *quality_report_sensors],
        resources={"warehouse": warehouse},
        executor=dg.in_process_executor,
    )


defs = build_definitions()
