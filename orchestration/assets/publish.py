"""The last step of a run: publish the gated marts to the file BI tools read."""

import json
from collections.abc import Mapping

import dagster as dg

from orchestration.assets.predictive import PREDICTIVE_KEYS
from orchestration.dbt import DBT_ASSETS
from orchestration.project import dbt_project
from orchestration.resources import WAREHOUSE_POOL, Warehouse
from subscriber_warehouse.publish import PUBLISHED_SCHEMAS, Docs, publish

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
    docs = published_docs(json.loads(dbt_project.manifest_path.read_text()))
    rows, restated = publish(warehouse.path, warehouse.published, context.run.run_id, docs)
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


def published_docs(manifest: Mapping) -> Docs:
    """dbt's description of every published model, snapshot and predictive table (a dbt source
    the Python steps write) and of their columns."""
    docs: Docs = {}
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        kind, schema = node["resource_type"], node["schema"]
        if kind in ("model", "snapshot", "source") and schema in PUBLISHED_SCHEMAS:
            columns = {c: col["description"].strip() for c, col in node["columns"].items()}
            name = node.get("identifier") or node["alias"]
            docs[(schema, name)] = (node["description"].strip(), columns)
    return docs
