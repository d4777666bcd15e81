"""A generated native landing read back as the business's history, for writing the same business
in a billing system's own shape (generate --format stripe | chargebee).

The raw contract's rules are applied here as the warehouse applies them (the copy delivered last
wins; a null in an event takes the plan version in force at its instant), so a billing source's
files state exactly the subscription states the native files do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

# the raw contract's tables a billing source replaces; the others are copied as they are
BILLING_TABLES = ("customers", "plans", "subscription_events", "invoices", "payments", "refunds")


@dataclass
class NativeHistory:
    customers: pd.DataFrame  # the latest version of each customer, plus currency
    plans: pd.DataFrame  # every version
    latest_plans: pd.DataFrame  # the latest version of each plan
    events: pd.DataFrame  # resolved states, with spell and spell_id
    invoices: pd.DataFrame  # the latest version of each invoice
    payments: pd.DataFrame
    refunds: pd.DataFrame


def _files(landing: Path, table: str) -> str:
    return f"read_parquet('{landing / table}/**/*.parquet', union_by_name = true, filename = true)"


_EVENTS = """
with events as (
    select * exclude (copy_rank) from (
        select *, row_number() over (partition by event_id
            order by filename like '%/%/%/%' desc, filename desc) as copy_rank
        from {events}
    ) where copy_rank = 1
),
plans as (
    select *,
        case when row_number() over (partition by plan_id order by updated_at) = 1
            then timestamptz '0001-01-01 00:00:00+00' else updated_at end as valid_from,
        coalesce(lead(updated_at) over (partition by plan_id order by updated_at),
            timestamptz '9999-12-31 00:00:00+00') as valid_to
    from {plans}
)
select
    e.event_id, e.subscription_id, e.customer_id, e.event_type, e.status, e.occurred_at,
    e.plan_id, e.quantity, e.cancel_reason,
    e.unit_amount is not null as has_custom_price,
    coalesce(e.unit_amount, p.unit_amount) as unit_amount,
    coalesce(e.discount_pct, 0) as discount_pct,
    coalesce(e.currency, p.currency) as currency,
    p.product, p.tier, p.plan_name, p.billing_interval, p.interval_count, p.trial_days,
    -- a reactivation starts a new spell: billing systems make it a new subscription
    cast(sum(case when e.event_type = 'reactivated' then 1 else 0 end) over (
        partition by e.subscription_id order by e.occurred_at, e.event_id
    ) as bigint) as spell
from events as e
left join plans as p
    on e.plan_id = p.plan_id and e.occurred_at >= p.valid_from and e.occurred_at < p.valid_to
order by e.subscription_id, e.occurred_at, e.event_id
"""


def _latest(con, landing: Path, table: str, key: str) -> pd.DataFrame:
    return con.execute(
        f"""select * exclude (filename, copy_rank) from (
            select *, row_number() over (partition by {key}
                order by updated_at desc, filename desc) as copy_rank
            from {_files(landing, table)}) where copy_rank = 1 order by {key}"""
    ).df()


def _unique(con, landing: Path, table: str, key: str) -> pd.DataFrame:
    return con.execute(
        f"""select * exclude (filename, copy_rank) from (
            select *, row_number() over (partition by {key} order by filename desc) as copy_rank
            from {_files(landing, table)}) where copy_rank = 1 order by {key}"""
    ).df()


def read_native(landing: Path) -> NativeHistory:
    """The history of a Parquet landing written by the generator (instants as UTC)."""
    landing = Path(landing)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        plans = con.execute(
            f"select * exclude (filename) from {_files(landing, 'plans')} order by plan_id, "
            "updated_at"
        ).df()
        events = con.execute(
            _EVENTS.format(
                events=_files(landing, "subscription_events"),
                plans=f"(select * exclude (filename) from {_files(landing, 'plans')})",
            )
        ).df()
        latest_plans = plans.sort_values("updated_at").groupby("plan_id").tail(1)
        customers = _latest(con, landing, "customers", "customer_id")
        invoices = _latest(con, landing, "invoices", "invoice_id")
        payments = _unique(con, landing, "payments", "payment_id")
        refunds = _unique(con, landing, "refunds", "refund_id")
    finally:
        con.close()
    events["spell_id"] = events["subscription_id"].where(
        events["spell"] == 0, events["subscription_id"] + "_r" + events["spell"].astype(str)
    )
    currency = pd.concat(
        [events[["customer_id", "currency"]], invoices[["customer_id", "currency"]]]
    ).drop_duplicates("customer_id")
    customers = customers.merge(currency, on="customer_id", how="left")
    return NativeHistory(
        customers=customers,
        plans=plans,
        latest_plans=latest_plans.sort_values("plan_id").reset_index(drop=True),
        events=events,
        invoices=invoices,
        payments=payments,
        refunds=refunds,
    )
