"""Predictive marts fitted in Python on the gated warehouse: contractual CLV (sBG), one-off
purchase CLV (BG/NBD + Gamma-Gamma), churn-risk scores, the MRR forecast and the uplift of the
retention offer."""

import time

import dagster as dg

from orchestration.freshness import MART_FRESHNESS
from orchestration.resources import WAREHOUSE_POOL, Warehouse
from subscriber_warehouse.churn.warehouse import write_churn_risk
from subscriber_warehouse.clv.contractual import write_predictions
from subscriber_warehouse.clv.purchases import write_purchase_predictions
from subscriber_warehouse.forecast.warehouse import write_forecast
from subscriber_warehouse.uplift.warehouse import write_uplift


def _mart(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


CLV_KEYS = {name: _mart(name) for name in ("clv_predictions", "retention_projection")}
PURCHASE_KEY = _mart("purchase_clv_predictions")
CHURN_KEYS = {name: _mart(name) for name in ("churn_risk_scores", "churn_model_evaluation")}
FORECAST_KEYS = {name: _mart(name) for name in ("mrr_forecast", "mrr_forecast_backtest")}
UPLIFT_KEYS = {name: _mart(name) for name in ("uplift_scores", "uplift_model_evaluation")}
PREDICTIVE_KEYS = [
    *CLV_KEYS.values(),
    PURCHASE_KEY,
    *CHURN_KEYS.values(),
    *FORECAST_KEYS.values(),
    *UPLIFT_KEYS.values(),
]

_SPEC = {
    "group_name": "predictive",
    "kinds": {"duckdb", "python"},
    "owners": ["team:analytics-engineering"],
    "freshness_policy": MART_FRESHNESS,
}


def _fitted(context, warehouse, write, keys, figure, figure_sql):
    """Fit a model and write its tables (`write`, returning rows per table and, where a model can
    be missing, why under "skipped"), then report each table with the evaluation's headline
    (`figure_sql`: name and value pairs) as its `figure` metadata."""
    started = time.perf_counter()
    with warehouse.connection() as con:
        rows = write(con)
        headline = dict(con.execute(figure_sql).fetchall())
    seconds = round(time.perf_counter() - started, 2)
    if rows.get("skipped"):
        context.log.warning(f"no {', '.join(keys)}: {rows['skipped']}")
    context.log.info(f"{figure}: {headline}")
    for name, key in keys.items():
        metadata = {
            "dagster/row_count": rows[name],
            "fit_seconds": seconds,
            figure: dg.MetadataValue.json(headline),
        }
        if "skipped" in rows:
            metadata["skipped"] = rows["skipped"]
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CLV_KEYS["clv_predictions"],
            deps=[_mart("subscription_lifetimes")],
            description="One row per currently paying subscription: sBG-predicted residual value "
            "= MRR × months per period × margin × DERL (subscriber_warehouse/clv/contractual.py).",
            **_SPEC,
        ),
        dg.AssetSpec(
            CLV_KEYS["retention_projection"],
            deps=[_mart("subscription_lifetimes")],
            description="One row per model segment × period: Kaplan–Meier observed survival vs "
            "the fitted sBG survival.",
            **_SPEC,
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def contractual_clv(warehouse: Warehouse):
    started = time.perf_counter()
    with warehouse.connection() as con:
        rows = write_predictions(con)
    seconds = round(time.perf_counter() - started, 2)
    for name, key in CLV_KEYS.items():
        yield dg.MaterializeResult(
            asset_key=key, metadata={"dagster/row_count": rows[name], "fit_seconds": seconds}
        )


@dg.asset(
    key=PURCHASE_KEY,
    pool=WAREHOUSE_POOL,
    deps=[_mart("one_off_purchases")],
    description="One row per customer with a paid one-off invoice: BG/NBD P(alive) and expected "
    "purchases over 52 weeks, Gamma-Gamma average spend, predicted spend "
    "(subscriber_warehouse/clv/purchases.py).",
    **_SPEC,
)
def purchase_clv(warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.perf_counter()
    with warehouse.connection() as con:
        rows = write_purchase_predictions(con)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "fit_seconds": round(time.perf_counter() - started, 2),
        }
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            CHURN_KEYS["churn_risk_scores"],
            deps=[_mart("churn_features"), _mart("churn_feature_traits")],
            description="One row per paying subscriber: probability of paying nothing in 90 days, "
            "risk tier and top 3 factors in words (subscriber_warehouse/churn).",
            **_SPEC,
        ),
        dg.AssetSpec(
            CHURN_KEYS["churn_model_evaluation"],
            deps=[_mart("churn_features"), _mart("churn_feature_traits")],
            description="Backtest of the churn model and the tenure-only baseline on an earlier "
            "cutoff: AUC, precision at the top decile, calibration by decile.",
            **_SPEC,
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def churn_risk(context: dg.AssetExecutionContext, warehouse: Warehouse):
    yield from _fitted(
        context,
        warehouse,
        write_churn_risk,
        CHURN_KEYS,
        "backtest_auc",
        "select distinct model, round(auc, 4) from marts.churn_model_evaluation",
    )


_FORECAST_INPUTS = [_mart("forecast_subscription_months"), _mart("subscription_metrics_monthly")]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            FORECAST_KEYS["mrr_forecast"],
            deps=_FORECAST_INPUTS,
            description="MRR, ARR and paying customers for the next 12 months from the latest "
            "month, per scenario: point forecast with 80 % and 95 % intervals "
            "(subscriber_warehouse/forecast).",
            **_SPEC,
        ),
        dg.AssetSpec(
            FORECAST_KEYS["mrr_forecast_backtest"],
            deps=_FORECAST_INPUTS,
            description="The forecast from each of the 12 months before the latest, on the data "
            "cut there, against what happened and against two naive forecasts: MAPE, bias and "
            "interval coverage at 1, 3, 6 and 12 months ahead.",
            **_SPEC,
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def mrr_forecast(context: dg.AssetExecutionContext, warehouse: Warehouse):
    yield from _fitted(
        context,
        warehouse,
        write_forecast,
        FORECAST_KEYS,
        "backtest_mape",
        "select model || ' ' || months_ahead || ' months', round(mape, 4) "
        "from marts.mrr_forecast_backtest where months_ahead in (6, 12) order by all",
    )


_UPLIFT_INPUTS = [
    _mart(name)
    for name in (
        "uplift_features",
        "uplift_feature_traits",
        "churn_features",
        "churn_feature_traits",
    )
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            UPLIFT_KEYS["uplift_scores"],
            deps=_UPLIFT_INPUTS,
            description="One row per paying subscriber: predicted 90-day retention if offered "
            "the retention offer and if not contacted, and their difference, the uplift "
            "(subscriber_warehouse/uplift).",
            **_SPEC,
        ),
        dg.AssetSpec(
            UPLIFT_KEYS["uplift_model_evaluation"],
            deps=_UPLIFT_INPUTS,
            description="The uplift model against targeting by churn risk and at random on the "
            "latest randomised campaign, trained on the ones before it: Qini coefficient, AUUC, "
            "incremental MRR retained per 1,000 contacted.",
            **_SPEC,
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def uplift(context: dg.AssetExecutionContext, warehouse: Warehouse):
    yield from _fitted(
        context,
        warehouse,
        write_uplift,
        UPLIFT_KEYS,
        "qini_coefficient",
        "select targeting, round(qini_coefficient, 4) from marts.uplift_model_evaluation",
    )


predictive_assets = [contractual_clv, purchase_clv, churn_risk, mrr_forecast, uplift]
