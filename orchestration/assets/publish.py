"""The last step of a run: publish the gated marts to the file BI tools read."""

import dagster as dg

from orchestration.assets.predictive import PREDICTIVE_KEYS
from orchestration.dbt import DBT_ASSETS
from orchestration.resources import WAREHOUSE_POOL, Warehouse
from subscriber_warehouse.publish import publish

# every model BI reads; blocking checks on any of them (and on everything upstream) stop this step
PUBLISHED = [
    key for assets in DBT_ASSETS for key in assets.keys if key.path[0] in ("marts", "snapshots")
]
PUBLISHED += PREDICTIVE_KEYS


@dg.asset(
    key=["published", "warehouse"],
    deps=PUBLISHED,
    group_name="publish",
    kinds={"duckdb"},
    owners=["team:data-platform"],
    # reads the working database
    pool=WAREHOUSE_POOL,
    description="The published DuckDB file: marts, snapshots and load accounting, replaced "
    "atomically only after every blocking check of the run passed.",
)
def published_warehouse(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    rows, restated = publish(warehouse.path, warehouse.published, context.run.run_id)
    if restated:
        context.log.warning(f"restated months: {', '.join(restated)}")
    return dg.MaterializeResult(
        metadata={
            "path": str(warehouse.published),
            "tables": len(rows),
            "rows": dg.MetadataValue.json(rows),
            "restated_months": dg.MetadataValue.json(restated),
        }
    )
