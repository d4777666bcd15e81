"""Campaign audience files, exported from the published warehouse only (what passed the gates)."""

import dagster as dg

from orchestration.resources import WAREHOUSE_POOL, Warehouse
from subscriber_warehouse.audiences import export_audiences


@dg.asset(
    key=["exports", "audiences"],
    deps=[dg.AssetKey(["published", "warehouse"])],
    group_name="exports",
    kinds={"csv", "parquet"},
    owners=["team:growth"],
    # reads the working database (the e-mail addresses the published file does not hold)
    pool=WAREHOUSE_POOL,
    description="Per run, exports/<run id>/ beside the published warehouse, readable by its "
    "owner only (folder 0o700, files 0o600): audience_<name>__<channel>.csv and .parquet with "
    "what the channel's tool needs of the customers it may reach — email: customer_id, email, "
    "reason; sms: customer_id, phone, reason; ads: customer_id, email_sha256 (unsalted, of the "
    "trimmed lower-cased address), reason — each with __changes (change added/removed, the same "
    "columns, reason) against the previous run. Every audience has a random no-contact holdout "
    "(10 % of each churn risk tier, rounded half up, drawn from sha256 of run id, audience and "
    "customer: the same run id, the same arms), in no channel file (a member drawn into it is "
    "removed as 'held out'); audience_assignments.csv and .parquet list every member's arm and "
    "offer in the raw contract's campaign_assignments columns, plus risk_tier and run_id, to be "
    "landed back as landing/campaign_assignments/ once the campaign went out. manifest.json: run "
    "id, as-of instant, rows per file, members per arm per audience. exports/latest links to the "
    "newest run: `readlink exports/latest` (subscriber_warehouse/audiences.py).",
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
