"""The sample-data generator, checked from its files alone (pyarrow + DuckDB, no project loader).

Scales are small: ~3,000 customers for the contract and behaviour checks, a few hundred for
determinism and dirt. Expected numbers come from the specs, not from the generator's output.
"""

from __future__ import annotations

import csv
import datetime as dt
import filecmp
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from subscriber_warehouse import contract
from subscriber_warehouse.generate import generate

START = dt.date(2024, 1, 1)
MONTHS = 24
T0, T1 = "2024-01-01 00:00:00+00", "2026-01-01 00:00:00+00"  # the horizon [T0, T1)
N = 3_000
ROOT = Path(__file__).resolve().parent.parent

PARQUET_TYPES = {
    "str": pa.string(),
    "json": pa.string(),
    "ts": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "int": pa.int64(),
    "money": pa.decimal128(18, 2),
    "decimal": pa.decimal128(18, 8),
}
TS_TEXT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
TS_OFFSET_TEXT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"


# -- reading the files back ------------------------------------------------------------------
def data_files(out: Path, table: str, fmt: str | None = None) -> list[Path]:
    """The table's files, in the table folder or (daily tables) its day folders."""
    found = [*(out / table).glob(f"{table}-*.*"), *(out / table).glob(f"*/{table}-*.*")]
    return sorted(p for p in found if fmt is None or p.suffix == f".{fmt}")


def read_text_csv(path: Path) -> pa.Table:
    """Every field as text; only an unquoted empty field is null."""
    with open(path, newline="", encoding="utf-8") as f:
        header = f.readline().strip().replace('"', "").split(",")
    opts = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in header},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    return pacsv.read_csv(path, convert_options=opts)


def typed_sql(table: str, fmt: str, source: str) -> str:
    """SELECT casting a raw relation to the contract's DuckDB types."""
    cols = []
    for c in contract.TABLES[table].columns:
        target = "TIMESTAMPTZ" if c.type == "ts" else c.duckdb_type
        cols.append(f'CAST("{c.name}" AS {target}) AS "{c.name}"')
    return f"SELECT {', '.join(cols)} FROM {source}"


class Landing:
    """A generated folder registered in DuckDB: raw_<t> (as written) and <t> (typed)."""

    def __init__(self, out: Path, fmt: str, manifest: dict):
        self.out, self.fmt, self.manifest = out, fmt, manifest
        self.db = duckdb.connect()
        self.db.sql("SET TimeZone = 'UTC'")
        for table in contract.TABLES:
            files = data_files(out, table)
            parts = [
                read_text_csv(f) if f.suffix == ".csv" else pq.read_table(f)
                for f in files
                if f.suffix == f".{fmt}"
            ]
            raw = pa.concat_tables(parts)
            self.db.register(f"raw_{table}", raw)
            self.db.sql(f"CREATE TABLE {table} AS {typed_sql(table, fmt, f'raw_{table}')}")

    def q(self, sql: str) -> list[tuple]:
        return self.db.sql(sql).fetchall()

    def one(self, sql: str):
        return self.q(sql)[0][0]


def run(out: Path, **kw) -> dict:
    args = {
        "customers": N,
        "seed": 7,
        "start": START,
        "months": MONTHS,
        "fmt": "csv",
        "chunk_size": 1_000,
        "progress": False,
    } | kw
    return generate(out, **args)


@pytest.fixture(scope="module")
def csv_landing(tmp_path_factory) -> Landing:
    out = tmp_path_factory.mktemp("csv")
    return Landing(out, "csv", run(out))


@pytest.fixture(scope="module")
def parquet_landing(tmp_path_factory) -> Landing:
    out = tmp_path_factory.mktemp("parquet")
    return Landing(out, "parquet", run(out, fmt="parquet"))


@pytest.fixture(params=["csv", "parquet"])
def landing(request, csv_landing, parquet_landing) -> Landing:
    return csv_landing if request.param == "csv" else parquet_landing


# -- determinism -----------------------------------------------------------------------------
def same_tree(a: Path, b: Path) -> bool:
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return fa == fb and all(filecmp.cmp(a / p, b / p, shallow=False) for p in fa)


def test_determinism(tmp_path):
    small = {"customers": 300, "chunk_size": 100, "fmt": "parquet"}
    run(tmp_path / "a", **small)
    run(tmp_path / "b", **small)
    assert same_tree(tmp_path / "a", tmp_path / "b")
    # workers=2 in another process, another time zone and locale: byte-identical
    code = (
        "import datetime as dt, sys; from subscriber_warehouse.generate import generate; "
        "generate(sys.argv[1], customers=300, seed=7, start=dt.date(2024, 1, 1), months=24, "
        "fmt='parquet', chunk_size=100, workers=2, progress=False)"
    )
    env = dict(
        os.environ, TZ="Pacific/Chatham", LC_ALL="C.UTF-8", LANG="de_DE.UTF-8", PYTHONPATH=str(ROOT)
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "c")], env=env, check=True, cwd=tmp_path
    )
    assert same_tree(tmp_path / "a", tmp_path / "c")
    run(tmp_path / "d", seed=8, **small)
    events = "customers/customers-00000.parquet"
    assert not filecmp.cmp(tmp_path / "a" / events, tmp_path / "d" / events, shallow=False)


# -- contract conformance --------------------------------------------------------------------
def test_layout_and_manifest(landing):
    m = landing.manifest
    assert json.loads((landing.out / "_manifest.json").read_text()) == m
    assert m["dirt"] == []
    for table in contract.TABLES:
        files = data_files(landing.out, table)
        assert m["files"][table] == [str(f.relative_to(landing.out)) for f in files]
        if table in ("plans", "campaigns", "fx_rates"):
            assert [f.name for f in files] == [f"{table}-00000.{landing.fmt}"]
        elif table in contract.DAILY_TABLES:
            # one file per UTC day with rows, in that day's folder, named by it
            assert [f.name for f in files] == [
                f"{table}-{f.parent.name}.{landing.fmt}" for f in files
            ]
            assert len({f.parent.name for f in files}) == len(files) > 200
        else:
            assert [f.name for f in files] == [f"{table}-{k:05d}.{landing.fmt}" for k in range(3)]
        assert m["rows"][table] == landing.one(f"SELECT count(*) FROM {table}") > 0


def test_daily_tables_rows_sit_in_the_folder_of_their_utc_day(landing):
    reader = "read_csv" if landing.fmt == "csv" else "read_parquet"
    for table in contract.DAILY_TABLES:
        column = contract.TABLES[table].day_column
        source = f"{reader}('{landing.out / table}/*/*.{landing.fmt}', filename = true)"
        misplaced = landing.one(
            f"SELECT count(*) FROM {source} WHERE strftime(CAST({column} AS TIMESTAMPTZ), "
            "'%Y-%m-%d') <> split_part(filename, '/', -2)"
        )
        assert misplaced == 0, table


def test_columns_and_types(landing):
    for name, table in contract.TABLES.items():
        for f in data_files(landing.out, name):
            if landing.fmt == "csv":
                with open(f, encoding="utf-8", newline="") as fh:
                    header = next(csv.reader(fh))
                assert header == table.column_names, f
            else:
                schema = pq.read_schema(f)
                assert schema.names == table.column_names, f
                for c in table.columns:
                    assert schema.field(c.name).type == PARQUET_TYPES[c.type], (f, c.name)


def test_csv_text_formats(csv_landing):
    units = contract.currency_minor_units()
    db = csv_landing.db
    for name, table in contract.TABLES.items():
        for c in table.columns:
            col = f'"{c.name}"'
            assert db.sql(f"SELECT count(*) FROM raw_{name} WHERE {col} = ''").fetchall()[0][0] == 0
            if c.type == "ts":
                pattern = TS_OFFSET_TEXT if name == "support_tickets" else TS_TEXT
                bad = f"NOT regexp_matches({col}, '{pattern}')"
            elif c.type == "date":
                bad = f"NOT regexp_matches({col}, '^\\d{{4}}-\\d{{2}}-\\d{{2}}$')"
            elif c.type == "money":
                cur = f'"{table.money_currency}"'
                if name == "subscription_events":  # null currency = the plan's
                    cur = "coalesce(currency, plan_currency)"
                decimals = " ".join(f"WHEN '{k}' THEN {v}" for k, v in units.items())
                bad = (
                    f"NOT regexp_matches({col}, '^\\d+(\\.\\d+)?$') OR "
                    f"coalesce(length(split_part({col}, '.', 2)), 0) <> "
                    f"CASE {cur} {decimals} END"
                )
            elif c.type == "decimal":
                bad = f"NOT regexp_matches({col}, '^-?\\d+(\\.\\d*[1-9])?$')"
            else:
                continue
            source = f"raw_{name}"
            if name == "subscription_events":
                source += (
                    " LEFT JOIN (SELECT DISTINCT plan_id, currency AS plan_currency FROM "
                    "raw_plans) USING (plan_id)"
                )
            n = db.sql(f"SELECT count(*) FROM {source} WHERE {col} IS NOT NULL AND ({bad})")
            assert n.fetchall()[0][0] == 0, (name, c.name)


def test_values_obey_contract(landing):
    countries, currencies = contract.country_codes(), contract.currency_minor_units()
    for name, table in contract.TABLES.items():
        for c in table.columns:
            col = f'"{c.name}"'
            if not c.nullable:
                assert landing.one(f"SELECT count(*) FROM {name} WHERE {col} IS NULL") == 0, (
                    name,
                    c.name,
                )
            if c.enum:
                got = {r[0] for r in landing.q(f"SELECT DISTINCT {col} FROM {name}")} - {None}
                assert got <= set(c.enum), (name, c.name, got - set(c.enum))
            if c.min is not None:
                op = "<=" if c.min_exclusive else "<"
                assert landing.one(f"SELECT count(*) FROM {name} WHERE {col} {op} {c.min}") == 0
            if c.max is not None:
                assert landing.one(f"SELECT count(*) FROM {name} WHERE {col} > {c.max}") == 0
            if c.code:
                got = {r[0] for r in landing.q(f"SELECT DISTINCT {col} FROM {name}")} - {None}
                assert got <= (countries if c.code == "country" else set(currencies))
            if c.type == "ts":
                outside = landing.one(
                    f"SELECT count(*) FROM {name} WHERE {col} < '{T0}' OR {col} >= '{T1}'"
                )
                assert outside == 0, (name, c.name)
        key = ", ".join(table.key)
        dup = landing.one(
            f"SELECT count(*) FROM (SELECT {key} FROM {name} GROUP BY ALL HAVING count(*) > 1)"
        )
        assert dup == 0, name
        for rule in table.rules:
            assert landing.one(f"SELECT count(*) FROM {name} WHERE NOT ({rule.sql})") == 0


def test_zero_decimal_currencies_are_whole(landing):
    for name, table in contract.TABLES.items():
        for c in table.columns:
            if c.type == "money" and table.money_currency:
                frac = landing.one(
                    f'SELECT count(*) FROM {name} WHERE "{table.money_currency}"'
                    f' = \'JPY\' AND "{c.name}" <> round("{c.name}")'
                )
                assert frac == 0, (name, c.name)
    assert landing.one("SELECT count(*) FROM invoices WHERE currency = 'JPY'") > 0


def test_references_resolve(landing):
    refs = [
        ("subscription_events", "customer_id", "customers", "customer_id"),
        ("subscription_events", "plan_id", "plans", "plan_id"),
        ("invoices", "customer_id", "customers", "customer_id"),
        ("invoices", "subscription_id", "subscription_events", "subscription_id"),
        ("payments", "invoice_id", "invoices", "invoice_id"),
        ("payments", "customer_id", "customers", "customer_id"),
        ("refunds", "payment_id", "payments", "payment_id"),
        ("usage_events", "customer_id", "customers", "customer_id"),
        ("support_tickets", "customer_id", "customers", "customer_id"),
        ("campaign_touches", "campaign_id", "campaigns", "campaign_id"),
        ("campaign_touches", "customer_id", "customers", "customer_id"),
        ("customers", "acquisition_campaign_id", "campaigns", "campaign_id"),
        ("preferences", "customer_id", "customers", "customer_id"),
        ("social_interactions", "customer_id", "customers", "customer_id"),
    ]
    for child, col, parent, pcol in refs:
        n = landing.one(
            f"SELECT count(*) FROM {child} c WHERE c.{col} IS NOT NULL AND NOT "
            f"EXISTS (SELECT 1 FROM {parent} p WHERE p.{pcol} = c.{col})"
        )
        assert n == 0, (child, col)
    # the same customer on both sides of each link
    assert (
        landing.one(
            "SELECT count(*) FROM invoices i JOIN subscription_events e USING "
            "(subscription_id) WHERE e.customer_id <> i.customer_id"
        )
        == 0
    )
    assert (
        landing.one(
            "SELECT count(*) FROM payments p JOIN invoices i USING (invoice_id) "
            "WHERE p.customer_id <> i.customer_id OR p.currency <> i.currency"
        )
        == 0
    )
    assert (
        landing.one(
            "SELECT count(*) FROM refunds r JOIN payments p USING (payment_id) "
            "WHERE r.customer_id <> p.customer_id OR r.currency <> p.currency "
            "OR r.amount > p.amount OR r.refunded_at < p.attempted_at "
            "OR p.status <> 'succeeded'"
        )
        == 0
    )


def test_csv_and_parquet_hold_the_same_data(csv_landing, parquet_landing):
    for name in contract.TABLES:
        a = csv_landing.db.sql(f"SELECT * FROM {name}").to_arrow_table()
        b = parquet_landing.db.sql(f"SELECT * FROM {name}").to_arrow_table()
        db = duckdb.connect()
        db.register("a", a)
        db.register("b", b)
        diff = db.sql(
            "SELECT count(*) FROM ((FROM a EXCEPT ALL FROM b) UNION ALL (FROM b EXCEPT ALL FROM a))"
        ).fetchall()[0][0]
        assert a.num_rows == b.num_rows and diff == 0, name


def test_fx_rates_cover_every_day_and_currency(landing):
    used = {
        r[0]
        for r in landing.q(
            "SELECT DISTINCT currency FROM invoices UNION SELECT DISTINCT currency FROM plans"
        )
    } - {"USD"}
    days = (dt.date(2026, 1, 1) - START).days
    rows = landing.q(
        "SELECT currency, count(DISTINCT rate_date), min(rate_date), "
        "max(rate_date) FROM fx_rates GROUP BY ALL"
    )
    assert {r[0] for r in rows} == used
    for _, n, lo, hi in rows:
        assert (n, lo, hi) == (days, START, dt.date(2025, 12, 31))
    eur = landing.one("SELECT avg(rate_to_usd) FROM fx_rates WHERE currency = 'EUR'")
    assert 0.9 < eur < 1.3


# -- behaviour: every later metric has something to show -------------------------------------
PREV = "lag(status) OVER (PARTITION BY subscription_id ORDER BY occurred_at, event_id)"


def test_subscription_histories_are_well_formed(csv_landing):
    db = csv_landing
    firsts = db.q(
        "SELECT event_type, status, count(*) FROM (SELECT *, row_number() OVER ("
        "PARTITION BY subscription_id ORDER BY occurred_at, event_id) AS k FROM "
        "subscription_events) WHERE k = 1 GROUP BY ALL"
    )
    assert {(t, s) for t, s, _ in firsts} == {("created", "active"), ("trial_started", "trialing")}
    # cancel_reason only on canceled rows, and always there
    assert (
        db.one(
            "SELECT count(*) FROM subscription_events WHERE (cancel_reason IS NULL) = "
            "(event_type = 'canceled') OR (event_type = 'canceled') <> "
            "(status = 'canceled')"
        )
        == 0
    )
    assert {r[0] for r in db.q("SELECT DISTINCT event_type FROM subscription_events")} == set(
        contract.TABLES["subscription_events"].column("event_type").enum
    )
    # status transitions: activated after trialing, resumed after paused, reactivated after
    # canceled; nothing follows a cancel but a reactivation
    bad = db.one(
        f"SELECT count(*) FROM (SELECT event_type, {PREV} AS prev FROM "
        "subscription_events) WHERE (event_type = 'activated' AND prev <> 'trialing') "
        "OR (event_type = 'resumed' AND prev <> 'paused') OR (event_type = "
        "'reactivated' AND prev <> 'canceled') OR (prev = 'canceled' AND event_type "
        "<> 'reactivated')"
    )
    assert bad == 0
    # the as-of month (latest event) is the horizon's last month
    assert db.one("SELECT max(occurred_at) FROM subscription_events") >= dt.datetime(
        2025, 12, 1, tzinfo=dt.UTC
    )


def test_trial_conversion_rate(csv_landing):
    rate = csv_landing.one(
        "WITH t AS (SELECT subscription_id, min(occurred_at) AS t FROM subscription_events "
        "WHERE event_type = 'trial_started' GROUP BY 1) "
        "SELECT avg(CASE WHEN EXISTS (SELECT 1 FROM subscription_events e WHERE "
        "e.subscription_id = t.subscription_id AND e.event_type = 'activated') THEN 1.0 "
        "ELSE 0.0 END) FROM t "
        f"WHERE t + INTERVAL 15 DAY < '{T1}'"
    )
    assert 0.5 <= rate <= 0.7


def test_churn_voluntary_involuntary_and_reactivation(csv_landing):
    db = csv_landing
    subs = db.one("SELECT count(DISTINCT subscription_id) FROM subscription_events")
    voluntary = db.one(
        "SELECT count(*) FROM (SELECT cancel_reason, " + PREV + " AS prev FROM "
        "subscription_events) WHERE cancel_reason NOT IN ('payment_failed') "
        "AND prev = 'active'"
    )
    assert voluntary > 0.05 * subs
    reasons = {r[0] for r in db.q("SELECT DISTINCT cancel_reason FROM subscription_events")}
    assert reasons - {None} == set(
        contract.TABLES["subscription_events"].column("cancel_reason").enum
    )
    # involuntary churn follows >= 3 failed payments of that subscription's invoices
    failed_before = db.q(
        "SELECT e.event_id, (SELECT count(*) FROM payments p JOIN (SELECT DISTINCT invoice_id, "
        "subscription_id FROM invoices) i USING (invoice_id) WHERE i.subscription_id = "
        "e.subscription_id AND p.status = 'failed' AND p.attempted_at <= e.occurred_at) "
        "FROM subscription_events e WHERE e.cancel_reason = 'payment_failed'"
    )
    assert len(failed_before) > 5
    assert min(n for _, n in failed_before) >= 3
    assert db.one("SELECT count(*) FROM subscription_events WHERE event_type = 'reactivated'") > 5
    gaps = db.q(
        "SELECT date_diff('day', prev_t, occurred_at) FROM (SELECT event_type, "
        "occurred_at, lag(occurred_at) OVER (PARTITION BY subscription_id ORDER BY "
        "occurred_at, event_id) AS prev_t FROM subscription_events) "
        "WHERE event_type = 'resumed'"
    )
    assert len(gaps) > 5 and all(28 <= g <= 95 for (g,) in gaps)
    # some customers pay and cancel inside one calendar month
    same_month = db.one(
        "SELECT count(*) FROM (SELECT subscription_id, min(occurred_at) FILTER (status = "
        "'active') AS a, min(occurred_at) FILTER (status = 'canceled') AS c FROM "
        "subscription_events GROUP BY 1) s WHERE date_trunc('month', a) = date_trunc('month', c)"
        " AND EXISTS (SELECT 1 FROM invoices i WHERE i.subscription_id = s.subscription_id AND "
        "i.status = 'paid')"
    )
    assert same_month > 0


def test_customer_mix(csv_landing):
    db = csv_landing
    n_customers = db.one("SELECT count(DISTINCT customer_id) FROM customers")
    assert n_customers == N
    multi = db.one(
        "SELECT count(*) FROM (SELECT customer_id FROM subscription_events "
        "GROUP BY 1 HAVING count(DISTINCT subscription_id) > 1)"
    )
    assert 0.05 * N < multi < 0.3 * N
    versions = db.q(
        "SELECT count(*), min(updated_at) < max(updated_at), min(created_at) = "
        "max(created_at) FROM customers GROUP BY customer_id HAVING count(*) > 1"
    )
    assert len(versions) > 0.03 * N and all(v[1] and v[2] for v in versions)
    early, late = db.q(
        "SELECT count(*) FILTER (created_at < '2024-07-01'), count(*) FILTER "
        "(created_at >= '2025-07-01') FROM customers WHERE updated_at = "
        "created_at"
    )[0]
    assert late > 1.5 * early  # growth
    assert db.one("SELECT count(DISTINCT country) FROM customers") >= 8
    assert db.one("SELECT count(*) FROM customers WHERE country IS NULL") > 0
    # paid acquisition points at a campaign of that channel running at signup
    bad = db.one(
        "SELECT count(*) FROM customers c LEFT JOIN campaigns m ON "
        "m.campaign_id = c.acquisition_campaign_id WHERE c.acquisition_channel IN "
        "('paid_search', 'paid_social') AND (m.campaign_id IS NULL OR m.channel <> "
        "c.acquisition_channel OR c.created_at < m.started_at OR c.created_at > "
        "coalesce(m.ended_at, c.created_at))"
    )
    assert bad == 0
    assert db.one("SELECT count(*) FROM customers WHERE acquisition_channel IS NULL") > 0


def test_plan_price_change_is_picked_up(csv_landing):
    db = csv_landing
    changed = db.q(
        "SELECT plan_id, arg_min(unit_amount, updated_at), arg_max(unit_amount, "
        "updated_at), max(updated_at) FROM plans GROUP BY 1 HAVING count(*) > 1"
    )
    assert changed and all(new > old for _, old, new, _ in changed)
    after = db.one(
        "SELECT count(*) FROM subscription_events e JOIN (SELECT plan_id, "
        "max(updated_at) AS t FROM plans GROUP BY 1 HAVING count(*) > 1) p USING "
        "(plan_id) WHERE e.occurred_at >= p.t AND e.unit_amount IS NULL"
    )
    assert after > 0
    assert {
        r[0] for r in db.q("SELECT DISTINCT billing_interval || interval_count FROM plans")
    } == {"month1", "month3", "year1", "week1"}
    assert db.one("SELECT count(*) FROM subscription_events WHERE unit_amount IS NOT NULL") > 0
    assert db.one("SELECT count(*) FROM subscription_events WHERE discount_pct > 0") > 0


def test_invoices_follow_subscription_state(csv_landing):
    db = csv_landing
    # each subscription invoice is issued while the subscription is active, for the state's
    # price x quantity (null unit_amount = the plan version in force at the event)
    rows = db.q(
        "WITH e AS (SELECT e.*, (SELECT arg_max(p.unit_amount, p.updated_at) FROM plans p WHERE "
        "p.plan_id = e.plan_id AND p.updated_at <= e.occurred_at) AS list_price FROM "
        "subscription_events e), "
        "i AS (SELECT * FROM invoices WHERE subscription_id IS NOT NULL QUALIFY row_number() "
        "OVER (PARTITION BY invoice_id ORDER BY updated_at) = 1) "
        "SELECT i.invoice_id, e.status, i.subtotal, coalesce(e.unit_amount, e.list_price) * "
        "e.quantity, i.discount_amount, i.subtotal::DOUBLE * coalesce(e.discount_pct, 0) / 100, "
        "i.currency = (SELECT min(currency) FROM plans p WHERE p.plan_id = e.plan_id), "
        "i.currency "
        "FROM i ASOF JOIN e ON i.subscription_id = e.subscription_id AND i.issued_at >= "
        "e.occurred_at"
    )
    assert len(rows) == db.one(
        "SELECT count(DISTINCT invoice_id) FROM invoices WHERE subscription_id IS NOT NULL"
    )
    units = contract.currency_minor_units()
    for inv, status, subtotal, expected, disc, expected_disc, same_currency, cur in rows:
        assert status == "active" and subtotal == expected and same_currency, inv
        assert abs(float(disc) - expected_disc) <= 0.5 / 10 ** units[cur] + 1e-9, inv
    # one-off charges: customers with none, one and several (repeat purchases)
    counts = dict(
        db.q(
            "WITH k AS (SELECT c.customer_id, count(DISTINCT i.invoice_id) AS n "
            "FROM (SELECT DISTINCT customer_id FROM customers) c LEFT JOIN invoices "
            "i ON i.customer_id = c.customer_id AND i.subscription_id IS NULL "
            "GROUP BY 1) SELECT least(n, 2), count(*) FROM k GROUP BY 1"
        )
    )
    assert counts[0] > 0.2 * N and counts[1] > 0.05 * N and counts[2] > 0.05 * N


def test_invoice_status_matches_payments(csv_landing):
    db = csv_landing
    rows = db.q(
        "WITH last AS (SELECT * FROM invoices QUALIFY row_number() OVER (PARTITION BY "
        "invoice_id ORDER BY updated_at DESC) = 1), p AS (SELECT invoice_id, count(*) AS n, "
        "count(*) FILTER (status = 'succeeded') AS ok, count(DISTINCT amount) AS amounts, "
        "min(amount) AS amount FROM payments GROUP BY 1) "
        "SELECT l.status, coalesce(p.n, 0), coalesce(p.ok, 0), p.amounts, p.amount = l.total "
        "FROM last l LEFT JOIN p USING (invoice_id)"
    )
    for status, n, ok, amounts, same in rows:
        assert n == 0 or (amounts == 1 and same)
        assert {
            "paid": ok == 1,
            "uncollectible": ok == 0 and n > 0,
            "void": n == 0,
            "open": ok == 0,
            "draft": n == 0,
        }[status], (status, n, ok)
    statuses = {r[0] for r in rows}
    assert {"paid", "open", "uncollectible", "void"} <= statuses
    # open invoices later paid appear as a second, later version
    assert (
        db.one(
            "SELECT count(*) FROM (SELECT invoice_id FROM invoices GROUP BY 1 HAVING "
            "bool_or(status = 'open') AND bool_or(status = 'paid') AND "
            "arg_max(status, updated_at) = 'paid')"
        )
        > 0
    )
    assert db.one("SELECT count(*) FROM invoices WHERE updated_at < issued_at") == 0
    reasons = {
        r[0] for r in db.q("SELECT DISTINCT failure_reason FROM payments WHERE status = 'failed'")
    }
    assert reasons == {"card_declined", "insufficient_funds", "expired_card"}
    assert (
        db.one(
            "SELECT count(*) FROM payments WHERE (status = 'failed') <> "
            "(failure_reason IS NOT NULL)"
        )
        == 0
    )
    assert db.one("SELECT count(*) FROM refunds") > 0


def test_usage_only_while_subscribed_and_fading_before_churn(csv_landing):
    db = csv_landing
    assert (
        db.one(
            "SELECT count(*) FROM usage_events WHERE customer_id NOT IN (SELECT "
            "customer_id FROM subscription_events)"
        )
        == 0
    )
    outside = db.one(
        "WITH u AS (SELECT u.event_id, u.occurred_at, s.subscription_id FROM usage_events u "
        "JOIN (SELECT DISTINCT customer_id, subscription_id FROM subscription_events) s USING "
        "(customer_id)), st AS (SELECT u.event_id, e.status FROM u ASOF LEFT JOIN "
        "subscription_events e ON u.subscription_id = e.subscription_id AND u.occurred_at >= "
        "e.occurred_at) SELECT count(*) FROM (SELECT event_id FROM st GROUP BY 1 HAVING "
        "count(*) FILTER (status IN ('trialing', 'active')) = 0)"
    )
    assert outside == 0
    per_customer = db.one("SELECT count(*) FROM usage_events") / N
    assert 50 < per_customer < 200
    assert {r[0] for r in db.q("SELECT DISTINCT event_name FROM usage_events")} >= {
        "login",
        "export_report",
        "create_dashboard",
        "invite_user",
        "api_call",
    }
    assert db.one("SELECT count(*) FROM usage_events WHERE quantity IS NOT NULL") < 0.3 * (
        per_customer * N
    )
    assert db.one("SELECT count(*) FROM usage_events WHERE json_type(properties) <> 'OBJECT'") == 0
    # single-subscription customers whose voluntary cancel ended 4+ active months without a
    # pause: activity in the last two weeks vs two to three months before the cancel
    ratio = db.one(
        "WITH s AS (SELECT customer_id, max(occurred_at) AS c, min(occurred_at) AS a, "
        "arg_max(cancel_reason, occurred_at) AS r, arg_max(event_type, occurred_at) AS last, "
        "bool_or(event_type = 'paused') AS p "
        "FROM subscription_events WHERE customer_id IN (SELECT customer_id FROM "
        "subscription_events GROUP BY 1 HAVING count(DISTINCT subscription_id) = 1) GROUP BY 1)"
        " SELECT (count(*) FILTER (u.occurred_at >= s.c - INTERVAL 14 DAY) / 14) / (count(*) "
        "FILTER (u.occurred_at BETWEEN s.c - INTERVAL 90 DAY AND s.c - INTERVAL 60 DAY) / 30) "
        "FROM s JOIN usage_events u USING (customer_id) WHERE s.last = 'canceled' AND s.r <> "
        "'payment_failed' "
        "AND s.c - s.a > INTERVAL 120 DAY AND NOT s.p"
    )
    assert ratio < 0.6


def churner_avg(db: Landing, table: str, column: str) -> tuple[float, float]:
    """Average of `column` for customers whose every subscription ended canceled vs the rest
    of the subscribers."""
    return tuple(
        db.q(
            f"WITH s AS (SELECT customer_id, bool_and(last = 'canceled') AS churned FROM (SELECT "
            f"customer_id, arg_max(status, occurred_at) AS last FROM subscription_events GROUP BY "
            f"customer_id, subscription_id) GROUP BY 1) SELECT avg({column}) FILTER (churned), "
            f"avg({column}) FILTER (NOT churned) FROM {table} JOIN s USING (customer_id)"
        )[0]
    )


def test_support_social_and_marketing(csv_landing):
    db = csv_landing
    churned, stayed = churner_avg(db, "support_tickets", "satisfaction_score")
    assert churned < stayed - 0.1
    churned, stayed = churner_avg(db, "social_interactions", "sentiment_score")
    assert churned < stayed - 0.1
    assert db.one("SELECT count(*) FROM support_tickets WHERE resolved_at IS NULL") > 0
    assert db.one("SELECT count(*) FROM social_interactions WHERE customer_id IS NULL") > 0
    assert {r[0] for r in db.q("SELECT DISTINCT touch_type FROM campaign_touches")} == set(
        contract.TABLES["campaign_touches"].column("touch_type").enum
    )
    # e-mail campaigns reach opted-in customers only, and unsubscribing opts out
    opt_outs = db.one(
        "SELECT count(*) FROM (SELECT customer_id, updated_at, preference_value, "
        "lag(preference_value) OVER (PARTITION BY customer_id ORDER BY updated_at)"
        " AS prev FROM preferences WHERE preference_key = 'email_opt_in') WHERE "
        "prev = 'true' AND preference_value = 'false'"
    )
    assert opt_outs > 0.02 * N
    sent_to_opted_out = db.one(
        "SELECT count(*) FROM campaign_touches t JOIN campaigns c USING (campaign_id) WHERE "
        "c.channel = 'email' AND t.touch_type = 'sent' AND coalesce((SELECT arg_max("
        "preference_value, updated_at) FROM preferences p WHERE p.customer_id = t.customer_id "
        "AND p.preference_key = 'email_opt_in' AND p.updated_at <= t.touched_at), 'false') "
        "<> 'true'"
    )
    assert sent_to_opted_out == 0
    assert set(contract.KNOWN_PREFERENCE_KEYS) == {
        r[0] for r in db.q("SELECT DISTINCT preference_key FROM preferences")
    }
    assert db.one("SELECT count(*) FROM campaigns WHERE ended_at IS NULL") > 0
    assert {r[0] for r in db.q("SELECT DISTINCT currency FROM campaigns")} == {"USD", "EUR"}


# -- dirt ------------------------------------------------------------------------------------
def test_dirty_mode_is_recorded_exactly(tmp_path):
    small = {"customers": 600, "chunk_size": 300}
    clean = run(tmp_path / "clean", **small)
    dirty = run(tmp_path / "dirty", dirty=True, **small)
    out = tmp_path / "dirty"
    kinds = {e["kind"] for e in dirty["dirt"]}
    assert kinds == {
        "duplicate",
        "conflict",
        "late_arrival",
        "negative_amount",
        "unparseable_timestamp",
        "unknown_status",
    }
    # dirt files are delivered last: in the last day's folder, sorting after the regular ones
    for table, n_extra in (("subscription_events", 2), ("payments", 1)):
        names = [str(f.relative_to(out / table)) for f in data_files(out, table)]
        assert all(n.startswith("2025-12-31/") and "-9999" in n for n in names[-n_extra:])
        assert not any("-9999" in n for n in names[:-n_extra])
    for table in contract.TABLES:
        n = sum(read_text_csv(f).num_rows for f in data_files(out, table))
        assert dirty["rows"][table] == n, table
    # every entry points at its row
    texts = {}
    for e in dirty["dirt"]:
        if e["file"] not in texts:
            texts[e["file"]] = read_text_csv(out / e["file"]).to_pylist()
        row = texts[e["file"]][e["row"] - 1]
        assert row[contract.TABLES[e["table"]].column_names[0]] == e["key"]
    assert len(texts) == 3 and sum(len(t) for t in texts.values()) == len(dirty["dirt"])

    def rows_of(files):
        return [tuple(r.values()) for f in files for r in read_text_csv(f).to_pylist()]

    events_dir = "subscription_events"
    regular = rows_of(f for f in data_files(out, events_dir) if "-9999" not in f.name)
    late = rows_of([out / events_dir / "2025-12-31" / "subscription_events-99999-late.csv"])
    retries = rows_of([out / events_dir / "2025-12-31" / "subscription_events-99998-retries.csv"])
    clean_events = rows_of(data_files(tmp_path / "clean", events_dir))
    # the late file holds an early month's events, moved out of the regular files
    assert late and sorted(regular + late) == sorted(clean_events)
    assert {r[5][:7] for r in late} == {"2024-02"}
    regular_by_id = {r[0]: r for r in regular}
    for e, row in zip(
        [
            e
            for e in dirty["dirt"]
            if e["table"] == "subscription_events" and e["kind"] != "late_arrival"
        ],
        retries,
        strict=True,
    ):
        original = regular_by_id[row[0]]
        if e["kind"] == "duplicate":
            assert row == original
        else:
            diff = [
                n
                for n, a, b in zip(
                    contract.TABLES[events_dir].column_names, row, original, strict=True
                )
                if a != b
            ]
            assert diff == ["quantity"] == [e["column"]]
    # malformed payments: exactly the recorded fault, on a real invoice
    invoices = {
        r["invoice_id"] for f in data_files(out, "invoices") for r in read_text_csv(f).to_pylist()
    }
    for e in (e for e in dirty["dirt"] if e["table"] == "payments"):
        row = texts[e["file"]][e["row"] - 1]
        assert row["invoice_id"] in invoices
        value = row[e["column"]]
        assert {
            "negative_amount": value.startswith("-"),
            "unparseable_timestamp": not re.match(TS_TEXT, value) or "-13-" in value,
            "unknown_status": value not in ("succeeded", "failed"),
        }[e["kind"]]
    assert clean["dirt"] == []
