"""One-off purchase CLV from the warehouse: BG/NBD + Gamma-Gamma on paid one-off invoices
(marts.one_off_purchases, a dbt model).

Add-ons, top-ups and overage are bought when the customer wants, not on a contract, so their
future is a non-contractual model's (Fader, Hardie & Lee 2005): weekly purchase periods up to
the as-of instant; P(alive), expected purchases over the horizon, and expected spend =
expected purchases x Gamma-Gamma expected average spend (in the reporting currency).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from subscriber_warehouse.clv.bgnbd import fit_bgnbd
from subscriber_warehouse.clv.gammagamma import fit_gamma_gamma
from subscriber_warehouse.clv.summary import summary_from_transactions

HORIZON_WEEKS = 52
# fewer one-off buyers (or repeat buyers) than this: too few to fit, the table is left empty
MIN_CUSTOMERS = 50
MIN_REPEAT_CUSTOMERS = 10
COLUMNS = {
    "customer_id": "str",
    "repeat_purchase_weeks": "int64",
    "recency_weeks": "int64",
    "age_weeks": "int64",
    "avg_repeat_purchase_value": "float64",
    "probability_alive": "float64",
    "expected_purchases": "float64",
    "expected_average_spend": "float64",
    "predicted_spend": "float64",
    "horizon_weeks": "int64",
    **dict.fromkeys(["r", "alpha", "a", "b", "p", "q", "gamma"], "float64"),
}

PURCHASES = (
    "select customer_id, purchased_at, cast(amount as double) as amount, calibration_end_at "
    "from marts.one_off_purchases"
)


def predict_purchases(purchases: pd.DataFrame, as_of, horizon_weeks: int = HORIZON_WEEKS):
    """One row per customer with a one-off purchase; fitted parameters repeated on each row.
    Empty when there are too few buyers to fit the models."""
    summary = summary_from_transactions(
        purchases, "customer_id", "purchased_at", as_of, "amount", freq="W"
    )
    x, t_x, age = summary["frequency"], summary["recency"], summary["T"]
    if len(summary) < MIN_CUSTOMERS or int((x > 0).sum()) < MIN_REPEAT_CUSTOMERS:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})
    bgnbd = fit_bgnbd(x, t_x, age)
    spend = fit_gamma_gamma(x, summary["monetary_value"])
    expected = bgnbd.expected_purchases(horizon_weeks, x, t_x, age)
    average = spend.expected_average_spend(x, summary["monetary_value"])
    return pd.DataFrame(
        {
            "customer_id": summary.index,
            "repeat_purchase_weeks": x.astype(int).to_numpy(),
            "recency_weeks": t_x.astype(int).to_numpy(),
            "age_weeks": age.astype(int).to_numpy(),
            "avg_repeat_purchase_value": summary["monetary_value"].round(2).to_numpy(),
            "probability_alive": bgnbd.probability_alive(x, t_x, age),
            "expected_purchases": expected,
            "expected_average_spend": average,
            "predicted_spend": (expected * average).round(2),
            "horizon_weeks": horizon_weeks,
            "r": bgnbd.r,
            "alpha": bgnbd.alpha,
            "a": bgnbd.a,
            "b": bgnbd.b,
            "p": spend.p,
            "q": spend.q,
            "gamma": spend.gamma,
        }
    )


def write_purchase_predictions(con: duckdb.DuckDBPyConnection) -> int:
    purchases = con.execute(PURCHASES).df()
    if purchases.empty:
        predictions = pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})
    else:
        predictions = predict_purchases(purchases, purchases["calibration_end_at"].iloc[0])
    con.register("_purchase_predictions", predictions)
    con.execute(
        "create or replace table marts.purchase_clv_predictions as "
        "select * from _purchase_predictions"
    )
    con.unregister("_purchase_predictions")
    return len(predictions)
