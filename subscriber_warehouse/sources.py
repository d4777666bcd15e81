"""Billing sources: a billing system's own tables, landed as it exports them, in place of the raw
contract's billing tables (docs/sources/<source>.md).

A source is one folder of the dbt project, `dbt_project/models/staging/<source>/`: its
`_<source>__sources.yml` declares the tables and columns the loader reads (each column's
`data_type` a raw contract type, `meta.required`, `meta.scheduled` for an instant that may lie
ahead, the table's `meta.subscriber_warehouse.key`),
and its models map them to the raw contract's shape (`<source>__customers`, `__plans`,
`__subscription_events`, `__invoices`, `__payments`, `__refunds`), which the billing staging
models read instead of the native raw tables. The native tables a source does not have (usage,
support, marketing, preferences, attributes, FX rates) keep landing as the raw contract says.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from subscriber_warehouse.contract import TABLES, Column, Table

NATIVE = "native"
STAGING_DIR = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "staging"
# the raw contract's tables a billing source replaces
BILLING_TABLES = ("customers", "plans", "subscription_events", "invoices", "payments", "refunds")


@dataclass(frozen=True)
class Source:
    name: str
    schema: str  # the DuckDB schema its tables load into (raw_<source>)
    folder: str  # under the landing folder
    tables: dict[str, Table]
    # the schema of a Fivetran-style DuckDB database holding the tables (--source-database)
    database_schema: str | None = None


def _column(spec: dict) -> Column:
    meta = spec.get("meta") or {}
    return Column(
        spec["name"],
        spec["data_type"],
        nullable=not meta.get("required", False),
        code=meta.get("code"),
        code_any_case=meta.get("code") is not None,
        scheduled=meta.get("scheduled", False),
    )


def _table(schema: str, folder: str, spec: dict, formats) -> Table:
    meta = (spec.get("meta") or {}).get("subscriber_warehouse") or {}
    return Table(
        spec["name"],
        columns=tuple(_column(c) for c in spec["columns"]),
        key=tuple(meta.get("key") or ("id",)),
        grain=spec.get("description", "").strip(),
        schema=schema,
        folder=f"{folder}/{spec['name']}",
        formats=tuple(formats),
        freshness_column=meta.get("freshness_column"),
    )


@cache
def billing_sources() -> dict[str, Source]:
    """Every billing source of the dbt project, by name."""
    found = {}
    for path in sorted(STAGING_DIR.glob("*/_*__sources.yml")):
        for spec in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]:
            meta = (spec.get("meta") or {}).get("subscriber_warehouse") or {}
            if "landing" not in meta:
                continue
            schema, folder = spec["schema"], meta["landing"]
            formats = meta.get("formats", ("csv", "parquet"))
            found[spec["name"]] = Source(
                spec["name"],
                schema,
                folder,
                {t["name"]: _table(schema, folder, t, formats) for t in spec["tables"]},
                meta.get("database_schema"),
            )
    return found


def source_names() -> list[str]:
    return [NATIVE, *billing_sources()]


def raw_tables(billing_source: str = NATIVE) -> list[Table]:
    """The tables a run with this billing source loads: the raw contract's, the billing ones
    replaced by the source's own."""
    if billing_source == NATIVE:
        return list(TABLES.values())
    if billing_source not in billing_sources():
        raise ValueError(
            f"unknown billing source {billing_source!r} (one of {', '.join(source_names())})"
        )
    native = [t for name, t in TABLES.items() if name not in BILLING_TABLES]
    return [*billing_sources()[billing_source].tables.values(), *native]
