"""The raw input contract (docs/raw-contract.md, version 4) as data.

The loader builds its typing and rejection SQL from these definitions, the generator writes
columns in this order, and the tests check the docs and the generator against them, so the
contract is stated once.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

CONTRACT_VERSION = 4
SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

# Logical type -> DuckDB type of the raw column.
DUCKDB_TYPES = {
    "str": "VARCHAR",
    "ts": "TIMESTAMP",  # naive, always UTC: results must not depend on the session time zone
    "date": "DATE",
    "int": "BIGINT",
    "money": "DECIMAL(18,4)",
    "decimal": "DECIMAL(18,8)",
    "json": "VARCHAR",
    # the types billing systems' own exports use (subscriber_warehouse/sources.py)
    "bool": "BOOLEAN",
    "epoch": "TIMESTAMP",  # UNIX seconds, as Chargebee's API returns instants
    "json_array": "VARCHAR",
}

# The instants and dates the warehouse accepts: what DuckDB and Spark can both store (Spark's
# TIMESTAMP and DATE run from 0001-01-01 to 9999-12-31; DuckDB's range is wider). Rows outside
# are quarantined at load (docs/raw-contract.md, Formats).
EARLIEST_ACCEPTED = "0001-01-01"
LATEST_ACCEPTED = "9999-12-31"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "str"
    nullable: bool = False
    enum: tuple[str, ...] | None = None
    min: float | None = None
    min_exclusive: bool = False
    max: float | None = None
    code: str | None = None  # "currency" or "country": must be a known ISO code
    code_any_case: bool = False  # billing systems write "usd"; the raw contract "USD"
    # an instant a billing system schedules (a period's end, a trial's, a cancel at the period
    # end): not future-dated when after the load
    scheduled: bool = False
    pii: bool = False

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row; `sql` must be true (or null) for a valid row."""

    column: str
    sql: str
    reason: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False
    grain: str = ""
    rules: tuple[RowRule, ...] = field(default=())
    # money columns whose currency column is named here may not be fractional in a
    # zero-decimal currency (JPY, KRW, ...)
    money_currency: str | None = None
    # large event tables arrive in day folders (`<table>/<YYYY-MM-DD>/`) and load by day; this
    # is the timestamp whose UTC date a row's folder normally is (docs/raw-contract.md)
    day_column: str | None = None
    # where the table lands: the DuckDB schema, the folder under the landing folder (default:
    # the table's name) and the file formats read; a billing source's tables differ
    schema: str = "raw"
    folder: str | None = None
    formats: tuple[str, ...] = ("csv", "parquet")
    # the instant whose newest value tells whether exports still arrive: the freshness gate
    # reads the first table of a run (in contract order) that has one and has rows
    freshness_column: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def label(self) -> str:
        """The table's name in load accounting and rejected rows: a native table's name, a
        source table's schema.name (raw_stripe.customer)."""
        return self.name if self.schema == "raw" else self.qualified

    @property
    def landing_folder(self) -> str:
        return self.folder or self.name

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# a customer attribute's name: it becomes a column name in dim_subscribers and a model input
ATTRIBUTE_NAME = "[a-z][a-z0-9_]{0,62}"


def _money(name: str, *, nullable: bool = False, positive: bool = False) -> Column:
    return Column(name, "money", nullable=nullable, min=0, min_exclusive=positive)


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "customers",
            grain="one row per customer version; the latest updated_at wins",
            key=("customer_id", "updated_at"),
            required=True,
            columns=(
                Column("customer_id"),
                Column("email", pii=True),
                Column("full_name", nullable=True, pii=True),
                Column("country", nullable=True, code="country"),
                Column("created_at", "ts"),
                Column("acquisition_channel", nullable=True),
                Column("acquisition_campaign_id", nullable=True),
                Column("updated_at", "ts"),
                # last, and optional in a file: landings of contract 2 have no such column
                Column("phone", nullable=True, pii=True),
            ),
        ),
        Table(
            "plans",
            grain="one row per plan version; the version in force at t is the latest "
            "updated_at <= t",
            key=("plan_id", "updated_at"),
            money_currency="currency",
            columns=(
                Column("plan_id"),
                Column("product"),
                Column("plan_name"),
                Column("tier"),
                Column("billing_interval", enum=("day", "week", "month", "year")),
                Column("interval_count", "int", min=1),
                _money("unit_amount"),
                Column("currency", code="currency"),
                Column("trial_days", "int", min=0),
                Column("updated_at", "ts"),
            ),
        ),
        Table(
            "subscription_events",
            grain="one row per delivery of a subscription event; event_id may repeat",
            key=("event_id",),
            money_currency="currency",
            day_column="occurred_at",
            freshness_column="occurred_at",
            columns=(
                Column("event_id"),
                Column("subscription_id"),
                Column("customer_id"),
                Column(
                    "event_type",
                    enum=(
                        "created",
                        "trial_started",
                        "activated",
                        "plan_changed",
                        "quantity_changed",
                        "discount_changed",
                        "paused",
                        "resumed",
                        "canceled",
                        "reactivated",
                    ),
                ),
                Column("status", enum=("trialing", "active", "paused", "canceled")),
                Column("occurred_at", "ts"),
                Column("plan_id"),
                Column("quantity", "int", min=0),
                _money("unit_amount", nullable=True),
                Column("discount_pct", "decimal", nullable=True, min=0, max=100),
                Column("currency", nullable=True, code="currency"),
                Column(
                    "cancel_reason",
                    nullable=True,
                    enum=(
                        "too_expensive",
                        "missing_features",
                        "switched_competitor",
                        "not_using",
                        "payment_failed",
                        "other",
                    ),
                ),
            ),
        ),
        Table(
            "invoices",
            grain="one row per invoice version; the latest updated_at wins",
            key=("invoice_id", "updated_at"),
            money_currency="currency",
            freshness_column="issued_at",
            rules=(
                RowRule(
                    "period_end",
                    "period_end >= period_start",
                    "period_end is before period_start",
                ),
                RowRule(
                    "total",
                    "total = subtotal - discount_amount + tax_amount",
                    "total is not subtotal - discount_amount + tax_amount",
                ),
            ),
            columns=(
                Column("invoice_id"),
                Column("customer_id"),
                Column("subscription_id", nullable=True),
                Column("issued_at", "ts"),
                Column("period_start", "date", nullable=True),
                Column("period_end", "date", nullable=True),
                _money("subtotal"),
                _money("discount_amount"),
                _money("tax_amount"),
                _money("total"),
                Column("currency", code="currency"),
                Column("status", enum=("draft", "open", "paid", "void", "uncollectible")),
                Column("updated_at", "ts"),
            ),
        ),
        Table(
            "payments",
            grain="one row per payment attempt",
            key=("payment_id",),
            money_currency="currency",
            day_column="attempted_at",
            freshness_column="attempted_at",
            columns=(
                Column("payment_id"),
                Column("invoice_id", nullable=True),
                Column("customer_id"),
                Column("attempted_at", "ts"),
                _money("amount", positive=True),
                Column("currency", code="currency"),
                Column("status", enum=("succeeded", "failed")),
                Column("failure_reason", nullable=True),
            ),
        ),
        Table(
            "refunds",
            grain="one row per refund",
            key=("refund_id",),
            money_currency="currency",
            columns=(
                Column("refund_id"),
                Column("payment_id"),
                Column("customer_id"),
                Column("refunded_at", "ts"),
                _money("amount", positive=True),
                Column("currency", code="currency"),
                Column("reason", nullable=True),
            ),
        ),
        Table(
            "usage_events",
            grain="one row per product activity event",
            key=("event_id",),
            day_column="occurred_at",
            columns=(
                Column("event_id"),
                Column("customer_id"),
                Column("occurred_at", "ts"),
                Column("event_name"),
                Column("quantity", "decimal", nullable=True),
                Column("properties", "json", nullable=True),
            ),
        ),
        Table(
            "support_tickets",
            grain="one row per support ticket",
            key=("ticket_id",),
            rules=(
                RowRule(
                    "resolved_at",
                    "resolved_at >= opened_at",
                    "resolved_at is before opened_at",
                ),
            ),
            columns=(
                Column("ticket_id"),
                Column("customer_id"),
                Column("opened_at", "ts"),
                Column("resolved_at", "ts", nullable=True),
                Column("channel", enum=("email", "chat", "phone", "social")),
                Column("priority", enum=("low", "normal", "high", "urgent")),
                Column("category"),
                Column("satisfaction_score", "int", nullable=True, min=1, max=5),
            ),
        ),
        Table(
            "campaigns",
            grain="one row per marketing campaign",
            key=("campaign_id",),
            money_currency="currency",
            rules=(RowRule("ended_at", "ended_at >= started_at", "ended_at is before started_at"),),
            columns=(
                Column("campaign_id"),
                Column("name"),
                Column("channel"),
                Column("started_at", "ts"),
                Column("ended_at", "ts", nullable=True),
                _money("spend"),
                Column("currency", code="currency"),
            ),
        ),
        Table(
            "campaign_touches",
            grain="one row per campaign touch of a customer",
            key=("touch_id",),
            columns=(
                Column("touch_id"),
                Column("campaign_id"),
                Column("customer_id"),
                Column("touched_at", "ts"),
                Column(
                    "touch_type",
                    enum=("sent", "delivered", "opened", "clicked", "converted", "unsubscribed"),
                ),
                # contract 4, optional in a file: the assignment the touch answers, and its offer
                Column("assignment_id", nullable=True),
                Column("offer", nullable=True),
            ),
        ),
        Table(
            "campaign_assignments",
            grain="one row per customer assigned to an arm of a campaign",
            key=("assignment_id",),
            columns=(
                Column("assignment_id"),
                Column("campaign_id"),
                Column("customer_id"),
                Column("audience", nullable=True),
                Column("arm", enum=("treatment", "holdout")),
                Column("offer", nullable=True),
                Column("offer_discount_pct", "decimal", nullable=True, min=0, max=100),
                Column("offer_months", "int", nullable=True, min=1),
                Column("assigned_at", "ts"),
            ),
        ),
        Table(
            "preferences",
            grain="one row per customer, preference key and update; the latest updated_at wins",
            key=("customer_id", "preference_key", "updated_at"),
            columns=(
                Column("customer_id"),
                Column("preference_key"),
                Column("updated_at", "ts"),
                Column("preference_value"),
            ),
        ),
        Table(
            "customer_attributes",
            grain="one row per customer, attribute and update; the value in force at t is the "
            "latest updated_at <= t",
            key=("customer_id", "attribute_name", "updated_at"),
            rules=(
                RowRule(
                    "attribute_name",
                    f"regexp_full_match(attribute_name, '{ATTRIBUTE_NAME}')",
                    "attribute_name must be lower-case letters, digits and _, starting with a "
                    "letter (at most 63 characters)",
                ),
            ),
            columns=(
                Column("customer_id"),
                Column("attribute_name"),
                Column("attribute_value", nullable=True),
                Column("updated_at", "ts"),
            ),
        ),
        Table(
            "social_interactions",
            grain="one row per social interaction",
            key=("interaction_id",),
            columns=(
                Column("interaction_id"),
                Column("customer_id", nullable=True),
                Column("platform"),
                Column("handle"),
                Column("interaction_type", enum=("mention", "reply", "review", "share")),
                Column("sentiment_score", "decimal", nullable=True, min=-1, max=1),
                Column("occurred_at", "ts"),
            ),
        ),
        Table(
            "fx_rates",
            grain="one row per rate date and currency",
            key=("rate_date", "currency"),
            columns=(
                Column("rate_date", "date"),
                Column("currency", code="currency"),
                Column("rate_to_usd", "decimal", min=0, min_exclusive=True),
            ),
        ),
    ]
}

# the tables delivered in day folders and loaded one day (Dagster partition) at a time
DAILY_TABLES = tuple(name for name, t in TABLES.items() if t.day_column)

KNOWN_PREFERENCE_KEYS = ("email_opt_in", "sms_opt_in", "preferred_language", "content_interests")


def _read_seed(name: str) -> list[dict[str, str]]:
    with open(SEEDS_DIR / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@cache
def currency_minor_units() -> dict[str, int]:
    """ISO-4217 code -> number of decimals of its minor unit (JPY 0, USD 2, KWD 3)."""
    return {r["currency_code"]: int(r["minor_units"]) for r in _read_seed("currencies.csv")}


@cache
def country_codes() -> frozenset[str]:
    return frozenset(r["country_code"] for r in _read_seed("countries.csv"))
