"""The great-expectations suites, declared as code: one per raw table, one per metric mart.

A check is a frame (a DuckDB query) and the expectations GX validates on it. Offender-style checks
(orphans, missing FX rates, conflicting copies) validate a one-row count frame and carry a query
for a sample of the offending rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import great_expectations.expectations as gxe

from quality.config import AMOUNT_CEILING_USD, FRESHNESS_MAX_AGE_HOURS, ROW_COUNT_BAND
from subscriber_warehouse.contract import TABLES, Table
from subscriber_warehouse.load.validate import ident, sql_str


@dataclass(frozen=True)
class Check:
    name: str
    category: str  # the key of its severity in quality.config.SEVERITY
    frame_sql: str
    expectations: Callable[[], list]  # fresh objects per run: GX binds an expectation to a suite
    rows_sql: str | None = None  # rows the check speaks for, when not the frame's rows
    sample_sql: str | None = None
    min_rows: int = 0
    # when this query returns false the check does not apply to the business's data (e.g. the
    # subscription marts of a business that sells one-off purchases only): it is not evaluated
    # and the gate notes why, instead of failing for too few rows
    applies_sql: str | None = None


def _zero(column: str) -> Callable[[], list]:
    return lambda: [gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=0)]


def _offenders(name, category, source_sql, rows_sql) -> Check:
    return Check(
        name,
        category,
        f"select count(*) as offenders from ({source_sql})",
        _zero("offenders"),
        rows_sql=rows_sql,
        sample_sql=source_sql,
    )


# child table, column -> parent table, column (raw contract references)
REFERENCES = {
    ("subscription_events", "customer_id"): ("customers", "customer_id"),
    ("subscription_events", "plan_id"): ("plans", "plan_id"),
    ("invoices", "customer_id"): ("customers", "customer_id"),
    ("payments", "invoice_id"): ("invoices", "invoice_id"),
    ("refunds", "payment_id"): ("payments", "payment_id"),
    ("campaign_touches", "campaign_id"): ("campaigns", "campaign_id"),
    ("customer_attributes", "customer_id"): ("customers", "customer_id"),
}

# table -> (date expression, currency expression) of the amounts converted to the reporting currency
CONVERTED = {
    "subscription_events": (
        "cast(t.occurred_at as date)",
        "coalesce(t.currency, (select max(p.currency) from raw.plans as p "
        "where p.plan_id = t.plan_id))",
    ),
    "payments": ("cast(t.attempted_at as date)", "t.currency"),
    "refunds": ("cast(t.refunded_at as date)", "t.currency"),
    "campaigns": ("cast(t.started_at as date)", "t.currency"),
}


# the copy delivered last first: a day folder's file after a top-level one, then by path (the
# dbt macro latest_delivery_first states the same order for the staging models)
LATEST_DELIVERY_FIRST = "(_source_file like '%/%/%') desc, _source_file desc, _source_row desc"


def _winning(table: Table) -> str:
    """The table as the warehouse reads it: per key, the copy delivered last."""
    key = ", ".join(ident(k) for k in table.key)
    return f"""(select * from (
        select *, row_number() over (
            partition by {key} order by {LATEST_DELIVERY_FIRST}) as _copy
        from {table.qualified}) where _copy = 1)"""


def _schema(table: Table) -> Check:
    expected = [(c.name, c.duckdb_type) for c in table.columns]
    expected += [("_source_file", "VARCHAR"), ("_source_row", "BIGINT")]
    values = ", ".join(f"({sql_str(n)}, {sql_str(t)})" for n, t in expected)
    frame = f"""
        select e.column_name, e.expected_type, c.data_type
        from (values {values}) as e (column_name, expected_type)
        left join information_schema.columns as c
            on c.table_schema = {sql_str(table.schema)} and c.table_name = {sql_str(table.name)}
            and c.column_name = e.column_name"""
    count = f"""select count(*) from information_schema.columns
        where table_schema = {sql_str(table.schema)} and table_name = {sql_str(table.name)}"""
    # a last row compares the table's column count, so an extra column fails too
    frame += f" union all select '(column count)', '{len(expected)}', cast(({count}) as varchar)"
    return Check(
        "schema",
        "schema",
        frame,
        lambda: [
            gxe.ExpectColumnPairValuesToBeEqual(column_A="data_type", column_B="expected_type")
        ],
        min_rows=len(expected) + 1,
    )


def _row_rules(table: Table) -> Check:
    def expectations() -> list:
        out = []
        for col in table.columns:
            if not col.nullable:
                out.append(gxe.ExpectColumnValuesToNotBeNull(column=col.name))
            if col.enum:
                out.append(gxe.ExpectColumnValuesToBeInSet(column=col.name, value_set=col.enum))
            if col.min is not None or col.max is not None:
                out.append(
                    gxe.ExpectColumnValuesToBeBetween(
                        column=col.name,
                        min_value=col.min,
                        max_value=col.max,
                        strict_min=col.min_exclusive,
                    )
                )
        return out

    checked = [
        c.name
        for c in table.columns
        if not c.nullable or c.enum or c.min is not None or c.max is not None
    ]
    frame = f"""
        select {", ".join(ident(c) for c in checked)} from {table.qualified}
        where rowid in ({_representative_rows(table)})"""
    return Check(
        "row_rules",
        "row_rules",
        frame,
        expectations,
        rows_sql=f"select count(*) from {table.qualified}",
        min_rows=1 if table.required else 0,
    )


def _representative_rows(table: Table) -> str:
    """Row ids of rows that break a row rule whenever any row does: the minimum and maximum of
    each range column, a row of each distinct value of each set column, up to 100 rows missing
    a required value, and one row (an empty table has none). GX validates these instead of the
    whole table: the same outcome, a frame of a few hundred rows at any size (a 100M-row table
    in pandas needs tens of GiB)."""
    source = table.qualified
    ranges = [c for c in table.columns if c.min is not None or c.max is not None]
    required = [c for c in table.columns if not c.nullable]
    ids = [f"(select rowid as id from {source} limit 1)"]
    if ranges:
        extremes = ", ".join(
            f"arg_min(rowid, {ident(c.name)}), arg_max(rowid, {ident(c.name)})" for c in ranges
        )
        ids.append(f"select unnest([{extremes}]) as id from {source}")
    ids += [
        f"select any_value(rowid) as id from {source} group by {ident(c.name)}"
        for c in table.columns
        if c.enum
    ]
    if required:
        missing = " or ".join(f"{ident(c.name)} is null" for c in required)
        ids.append(f"(select rowid as id from {source} where {missing} limit 100)")
    return " union all ".join(ids)


def _conflicts(table: Table) -> Check:
    key = ", ".join(ident(k) for k in table.key)
    columns = ", ".join(ident(c) for c in table.column_names)
    # copies differ when their rows' hashes do; only keys delivered more than once are compared
    # (a distinct over whole rows of a 100M-row table costs minutes and GiBs)
    source = f"""
        select {key}, count(distinct hash({columns})) as distinct_copies
        from {table.qualified}
        where ({key}) in (
            select ({key}) from {table.qualified} group by {key} having count(*) > 1)
        group by {key}
        having count(distinct hash({columns})) > 1"""
    return _offenders(
        "conflicting_copies",
        "conflicting_copies",
        source,
        f"select count(*) from {table.qualified}",
    )


def _references(table: Table, run_tables: list[Table]) -> list[Check]:
    """Raw contract references whose parent the run loads (a billing source's customers are
    checked in its staging models instead)."""
    loaded = {t.label for t in run_tables}
    checks = []
    for (child, column), (parent, parent_column) in REFERENCES.items():
        if table.schema == "raw" and child == table.name and parent in loaded:
            source = f"""
                select t.* from {_winning(table)} as t
                where t.{column} is not null and not exists (
                    select 1 from raw.{parent} as p where p.{parent_column} = t.{column})"""
            checks.append(
                _offenders(
                    f"references_{column}",
                    "references",
                    source,
                    f"select count(*) from raw.{child}",
                )
            )
    return checks


def _fx_coverage(table: Table) -> list[Check]:
    if table.schema != "raw" or table.name not in CONVERTED:
        return []
    day, currency = CONVERTED[table.name]
    source = f"""
        select * from (select t.*, {currency} as used_currency, {day} as used_date
                       from {_winning(table)} as t) as u
        -- USD is 1 unless landed: then its own rates must cover its days like any currency's
        where (used_currency <> 'USD' or exists (select 1 from raw.fx_rates where currency = 'USD'))
            and not exists (
            select 1 from raw.fx_rates as r
            where r.currency = u.used_currency and r.rate_date <= u.used_date)"""
    return [
        _offenders("fx_coverage", "fx_coverage", source, f"select count(*) from raw.{table.name}")
    ]


def _lifecycle(table: Table) -> list[Check]:
    """A subscription begins with created or trial_started (e.g. not canceled before created)."""
    if table.qualified != "raw.subscription_events":
        return []
    source = f"""
        select subscription_id, event_id, event_type, occurred_at, _source_file, _source_row
        from (
            select *, row_number() over (
                partition by subscription_id order by occurred_at, event_id) as position
            from {_winning(table)}
        )
        where position = 1 and event_type not in ('created', 'trial_started')"""
    return [
        _offenders(
            "lifecycle_order",
            "lifecycle_order",
            source,
            "select count(*) from raw.subscription_events",
        )
    ]


def _before_customer(table: Table, run_tables: list[Table]) -> list[Check]:
    """A subscription event before its customer was created (the customer's first version)."""
    if table.qualified != "raw.subscription_events" or "customers" not in {
        t.label for t in run_tables
    }:
        return []
    source = f"""
        select t.event_id, t.customer_id, t.occurred_at, c.created_at, t._source_file,
            t._source_row
        from {_winning(table)} as t
        inner join (select customer_id, min(created_at) as created_at from raw.customers
                    group by customer_id) as c on t.customer_id = c.customer_id
        where t.occurred_at < c.created_at"""
    return [
        _offenders(
            "before_customer", "before_customer", source, f"select count(*) from {table.qualified}"
        )
    ]


def _amount_ceiling(table: Table) -> list[Check]:
    """Amounts above AMOUNT_CEILING_USD at their currency's latest landed rate (USD at 1; a
    currency without a rate is the FX gate's)."""
    money = [c.name for c in table.columns if c.type == "money"]
    if table.schema != "raw" or not money or not table.money_currency:
        return []
    currency = f"t.{ident(table.money_currency)}"
    if table.name in CONVERTED:  # subscription events: null is the plan's currency
        currency = CONVERTED[table.name][1]
    rates = """(select currency, arg_max(rate_to_usd, rate_date) as rate_to_usd
        from raw.fx_rates group by currency)"""
    amounts = " union all ".join(
        f"select t._source_file, t._source_row, {sql_str(m)} as column_name, "
        f"cast(t.{ident(m)} as double) as amount, {currency} as used_currency from "
        f"{table.qualified} as t where t.{ident(m)} is not null"
        for m in money
    )
    source = f"""
        select a.*, a.amount * coalesce(r.rate_to_usd, 1) as amount_usd
        from ({amounts}) as a
        left join {rates} as r on a.used_currency = r.currency
        where (r.rate_to_usd is not null or a.used_currency = 'USD')
            and a.amount * coalesce(r.rate_to_usd, 1) > {AMOUNT_CEILING_USD}"""
    return [
        _offenders(
            "amount_ceiling", "amount_ceiling", source, f"select count(*) from {table.qualified}"
        )
    ]


def _freshness(table: Table, load_time: str, run_tables: list[Table]) -> list[Check]:
    """Whether exports still arrive: the age of the newest row of the first table of the run
    (in contract order) that has a freshness column and rows."""
    if table.freshness_column is None:
        return []
    column = ident(table.freshness_column)
    frame = f"""
        select max({column}) as newest_row_at,
            date_diff('second', max({column}), timestamp {sql_str(load_time)}) / 3600.0
                as age_hours
        from {table.qualified}"""
    chain = [t for t in run_tables if t.freshness_column]
    earlier = chain[: chain.index(table)]
    applies = " and ".join(
        [f"exists (select 1 from {table.qualified})"]
        + [f"not exists (select 1 from {t.qualified})" for t in earlier]
    )
    return [
        Check(
            "freshness",
            "freshness",
            frame,
            lambda: [
                gxe.ExpectColumnValuesToBeBetween(
                    column="age_hours", max_value=FRESHNESS_MAX_AGE_HOURS
                )
            ],
            min_rows=1,
            applies_sql=f"select {applies}",
        )
    ]


def _row_count_change(table: Table, previous: dict[str, int]) -> list[Check]:
    if not previous.get(table.label):
        return []
    low, high = ROW_COUNT_BAND
    before = previous[table.label]
    frame = f"""
        select count(*) as rows_now, {before} as rows_last_published,
            count(*) / {before}.0 as ratio
        from {table.qualified}"""
    return [
        Check(
            "row_count_change",
            "row_count_change",
            frame,
            lambda: [
                gxe.ExpectColumnValuesToBeBetween(column="ratio", min_value=low, max_value=high)
            ],
            min_rows=1,
        )
    ]


def raw_suite(
    table: str | Table,
    load_time: str,
    previous: dict[str, int],
    run_tables: list[Table] | None = None,
) -> list[Check]:
    """The gate of a raw table (a raw contract table's name, or any Table); `previous` holds
    the last published run's row counts, `run_tables` the run's raw tables (default: the raw
    contract's), which decide the table the freshness check reads."""
    table = TABLES[table] if isinstance(table, str) else table
    run_tables = run_tables or list(TABLES.values())
    return [
        _schema(table),
        _row_rules(table),
        _conflicts(table),
        *_references(table, run_tables),
        *_fx_coverage(table),
        *_lifecycle(table),
        *_before_customer(table, run_tables),
        *_amount_ceiling(table),
        *_freshness(table, load_time, run_tables),
        *_row_count_change(table, previous),
    ]
