"""Hand-made valid rows for every contract table, and helpers to land them as files."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from subscriber_warehouse.contract import TABLES

VALID: dict[str, dict[str, str]] = {
    "customers": {
        "customer_id": "cus_1",
        "email": "ana@example.com",
        "full_name": "Ana Silva",
        "country": "PT",
        "created_at": "2024-01-05T10:00:00Z",
        "acquisition_channel": "organic",
        "acquisition_campaign_id": "",
        "updated_at": "2024-01-05T10:00:00Z",
        "phone": "+351 21 000 0000",
    },
    "plans": {
        "plan_id": "pro-monthly-usd",
        "product": "analytics",
        "plan_name": "Pro monthly",
        "tier": "pro",
        "billing_interval": "month",
        "interval_count": "1",
        "unit_amount": "49.00",
        "currency": "USD",
        "trial_days": "14",
        "updated_at": "2023-12-01T00:00:00Z",
    },
    "subscription_events": {
        "event_id": "evt_1",
        "subscription_id": "sub_1",
        "customer_id": "cus_1",
        "event_type": "created",
        "status": "active",
        "occurred_at": "2024-01-05T10:00:00Z",
        "plan_id": "pro-monthly-usd",
        "quantity": "3",
        "unit_amount": "",
        "discount_pct": "10",
        "currency": "",
        "cancel_reason": "",
    },
    "invoices": {
        "invoice_id": "inv_1",
        "customer_id": "cus_1",
        "subscription_id": "sub_1",
        "issued_at": "2024-01-05T10:00:00Z",
        "period_start": "2024-01-05",
        "period_end": "2024-02-04",
        "subtotal": "147.00",
        "discount_amount": "14.70",
        "tax_amount": "11.25",
        "total": "143.55",
        "currency": "USD",
        "status": "paid",
        "updated_at": "2024-01-05T10:05:00Z",
    },
    "payments": {
        "payment_id": "pay_1",
        "invoice_id": "inv_1",
        "customer_id": "cus_1",
        "attempted_at": "2024-01-05T10:05:00Z",
        "amount": "143.55",
        "currency": "USD",
        "status": "succeeded",
        "failure_reason": "",
    },
    "refunds": {
        "refund_id": "ref_1",
        "payment_id": "pay_1",
        "customer_id": "cus_1",
        "refunded_at": "2024-01-20T09:00:00Z",
        "amount": "47.85",
        "currency": "USD",
        "reason": "seat removed",
    },
    "usage_events": {
        "event_id": "use_1",
        "customer_id": "cus_1",
        "occurred_at": "2024-01-06T08:00:00Z",
        "event_name": "login",
        "quantity": "",
        "properties": '{"device": "web"}',
    },
    "support_tickets": {
        "ticket_id": "tkt_1",
        "customer_id": "cus_1",
        "opened_at": "2024-01-07T09:00:00-05:00",
        "resolved_at": "2024-01-07T11:00:00-05:00",
        "channel": "email",
        "priority": "normal",
        "category": "billing",
        "satisfaction_score": "4",
    },
    "campaigns": {
        "campaign_id": "cmp_1",
        "name": "Spring search",
        "channel": "paid_search",
        "started_at": "2024-01-01T00:00:00Z",
        "ended_at": "2024-03-31T23:59:59Z",
        "spend": "12000.00",
        "currency": "USD",
    },
    "campaign_touches": {
        "touch_id": "tch_1",
        "campaign_id": "cmp_1",
        "customer_id": "cus_1",
        "touched_at": "2024-01-04T12:00:00Z",
        "touch_type": "clicked",
        "assignment_id": "asg_1",
        "offer": "retention_20pct_3m",
    },
    "campaign_assignments": {
        "assignment_id": "asg_1",
        "campaign_id": "cmp_1",
        "customer_id": "cus_1",
        "audience": "at_risk_high_value",
        "arm": "treatment",
        "offer": "retention_20pct_3m",
        "offer_discount_pct": "20",
        "offer_months": "3",
        "assigned_at": "2024-01-04T09:00:00Z",
    },
    "preferences": {
        "customer_id": "cus_1",
        "preference_key": "email_opt_in",
        "updated_at": "2024-01-05T10:00:00Z",
        "preference_value": "true",
    },
    "customer_attributes": {
        "customer_id": "cus_1",
        "attribute_name": "contract_type",
        "attribute_value": "one_year",
        "updated_at": "2024-01-05T10:00:00Z",
    },
    "social_interactions": {
        "interaction_id": "soc_1",
        "customer_id": "cus_1",
        "platform": "x",
        "handle": "@ana",
        "interaction_type": "mention",
        "sentiment_score": "0.6",
        "occurred_at": "2024-01-08T15:00:00Z",
    },
    "fx_rates": {"rate_date": "2024-01-05", "currency": "EUR", "rate_to_usd": "1.0921"},
}

assert all(list(VALID[t]) == TABLES[t].column_names for t in TABLES)


def row(table: str, **overrides: str) -> dict[str, str]:
    return {**VALID[table], **overrides}


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = header or list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([r.get(h, "") for h in header] for r in rows)
    return path


def write_parquet(path: Path, rows: list[dict[str, str]]) -> Path:
    """Parquet with string columns; typed Parquet is covered by the generator's output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {k: [r[k] or None for r in rows] for k in rows[0]}
    pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), path)
    return path


def land_minimal(landing: Path) -> Path:
    """One valid row in every table: a landing folder the whole pipeline accepts."""
    for table, values in VALID.items():
        write_csv(landing / table / f"{table}-0001.csv", [values])
    return landing
