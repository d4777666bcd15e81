"""Predictive marts computed in Python on the gated warehouse: contractual CLV (sBG)."""

import dagster as dg

from orchestration.resources import Warehouse
from subscriber_warehouse.clv.contractual import write_predictions

CLV_KEYS = {
    "clv_predictions": dg.AssetKey(["marts", "clv_predictions"]),
    "retention_projection": dg.AssetKey(["marts", "retention_projection"]),
}
_UPSTREAM = [dg.AssetKey(["marts", "fct_subscription_periods"])]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CLV_KEYS["clv_predictions"],
            deps=_UPSTREAM,
            group_name="predictive",
            kinds={"duckdb", "python"},
            owners=["team:analytics-engineering"],
            description="One row per currently paying subscription: sBG-predicted residual value "
            "= MRR × months per period × margin × DERL (subscriber_warehouse/clv/contractual.py).",
        ),
        dg.AssetSpec(
            CLV_KEYS["retention_projection"],
            deps=_UPSTREAM,
            group_name="predictive",
            kinds={"duckdb", "python"},
            owners=["team:analytics-engineering"],
            description="One row per model segment × period: Kaplan–Meier observed survival vs "
            "the fitted sBG survival.",
        ),
    ]
)
def contractual_clv(warehouse: Warehouse):
    with warehouse.connection() as con:
        rows = write_predictions(con)
    for name, key in CLV_KEYS.items():
        yield dg.MaterializeResult(asset_key=key, metadata={"dagster/row_count": rows[name]})
