"""Campaign audience files, exported from the published warehouse only (what passed the gates)."""

import dagster as dg

from orchestration.resources import Warehouse
from subscriber_warehouse.audiences import export_audiences


@dg.asset(
    key=["exports", "audiences"],
    deps=[dg.AssetKey(["published", "warehouse"])],
    group_name="exports",
    kinds={"csv", "parquet"},
    owners=["team:growth"],
    description="Per run, exports/<run id>/audience_<name>__<channel>.csv and .parquet beside the "
    "published warehouse: customer_id, email_hash, reason, preferred_channel of the customers "
    "opted in to that channel (subscriber_warehouse/audiences.py).",
)
def audience_exports(context: dg.AssetExecutionContext, warehouse: Warehouse):
    out_dir = warehouse.published.parent / "exports" / context.run.run_id
    counts = export_audiences(warehouse.published, out_dir)
    return dg.MaterializeResult(
        metadata={
            "path": str(out_dir),
            "rows": dg.MetadataValue.json(counts),
            "dagster/row_count": sum(sum(c.values()) for c in counts.values()),
        }
    )
