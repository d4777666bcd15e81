"""The dbt staging layer: dedupe, versioning, lineage and e-mail hashing on a hand-made warehouse.

One tiny landing folder holds a valid row for every table plus the re-deliveries and versions
the raw contract describes; it is loaded with the real loader, `dbt build --select staging`
runs once, and the tests read the staged views.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml
from rows import land_minimal, row, write_csv, write_parquet

from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load import connect, load_table

ROOT = Path(__file__).resolve().parent.parent
STAGING = ROOT / "dbt_project" / "models" / "staging"
NOW = datetime(2024, 6, 1)
SALT = "test-salt"

# raw table -> staging model
MODELS = {
    "customers": "stg_billing__customers",
    "plans": "stg_billing__plans",
    "subscription_events": "stg_billing__subscription_events",
    "invoices": "stg_billing__invoices",
    "payments": "stg_billing__payments",
    "refunds": "stg_billing__refunds",
    "usage_events": "stg_product__usage_events",
    "support_tickets": "stg_support__tickets",
    "campaigns": "stg_marketing__campaigns",
    "campaign_touches": "stg_marketing__campaign_touches",
    "campaign_assignments": "stg_marketing__campaign_assignments",
    "preferences": "stg_crm__preferences",
    "customer_attributes": "stg_crm__customer_attributes",
    "social_interactions": "stg_crm__social_interactions",
    "fx_rates": "stg_finance__fx_rates",
}

# single-key tables: a later file re-delivers the valid row with one value changed
REDELIVERED = {
    "payments": ("attempted_at", "2024-01-05T10:06:00Z"),
    "refunds": ("reason", "duplicate charge"),
    "usage_events": ("event_name", "export"),
    "support_tickets": ("priority", "high"),
    "campaigns": ("spend", "12500.00"),
    "campaign_touches": ("touch_type", "converted"),
    "campaign_assignments": ("arm", "holdout"),
    "social_interactions": ("sentiment_score", "-0.2"),
}


def land(landing: Path) -> None:
    land_minimal(landing)  # <table>/<table>-0001.csv: one valid row each

    # customers: cus_1's newer version sits in a file sorting *earlier* (updated_at decides);
    # cus_2 has two copies with equal updated_at (the file sorting last decides)
    write_csv(
        landing / "customers" / "customers-0000.csv",
        [
            row(
                "customers",
                email="  Ana@Example.COM ",
                full_name="Ana S. Silva",
                country="ES",
                updated_at="2024-03-01T00:00:00Z",
            ),
            row(
                "customers",
                customer_id="cus_2",
                email="bob@example.com",
                full_name="",
                country="FR",
                acquisition_channel="paid_search",
                acquisition_campaign_id="cmp_1",
                created_at="2024-02-01T00:00:00Z",
                updated_at="2024-02-01T00:00:00Z",
            ),
        ],
    )
    write_csv(
        landing / "customers" / "customers-0002.csv",
        [
            row(
                "customers",
                customer_id="cus_2",
                email="bob@example.com",
                full_name="",
                country="DE",
                acquisition_channel="paid_search",
                acquisition_campaign_id="cmp_1",
                created_at="2024-02-01T00:00:00Z",
                updated_at="2024-02-01T00:00:00Z",
            )
        ],
    )

    # plans: a new version, and the first version re-delivered with another name
    write_csv(
        landing / "plans" / "plans-0002.csv",
        [
            row("plans", plan_name="Pro monthly (renamed)"),
            row("plans", unit_amount="59.00", updated_at="2024-04-01T00:00:00Z"),
        ],
    )

    # subscription events: evt_1 re-delivered with another quantity in a later (Parquet) file;
    # evt_2 delivered twice identically
    evt_2 = row(
        "subscription_events",
        event_id="evt_2",
        event_type="quantity_changed",
        occurred_at="2024-02-01T00:00:00Z",
        quantity="4",
    )
    write_csv(landing / "subscription_events" / "subscription_events-0002.csv", [evt_2])
    write_parquet(
        landing / "subscription_events" / "subscription_events-0003.parquet",
        [row("subscription_events", quantity="5"), evt_2],
    )

    # invoices: inv_2 paid (newer) in an earlier file than its open version; inv_3 twice with
    # equal updated_at in one file (the later row wins)
    def invoice(invoice_id: str, status: str, updated_at: str) -> dict[str, str]:
        amounts = {"subtotal": "49.00", "discount_amount": "0", "tax_amount": "0", "total": "49.00"}
        return row(
            "invoices", invoice_id=invoice_id, status=status, updated_at=updated_at, **amounts
        )

    write_csv(
        landing / "invoices" / "invoices-0000.csv",
        [invoice("inv_2", "paid", "2024-02-03T00:00:00Z")],
    )
    write_csv(
        landing / "invoices" / "invoices-0002.csv",
        [
            invoice("inv_2", "open", "2024-02-01T00:00:00Z"),
            invoice("inv_3", "open", "2024-02-01T00:00:00Z"),
            invoice("inv_3", "void", "2024-02-01T00:00:00Z"),
        ],
    )

    for table, (column, value) in REDELIVERED.items():
        write_csv(landing / table / f"{table}-0002.csv", [row(table, **{column: value})])

    # preferences: the same update re-delivered with another value, and a later update
    write_csv(
        landing / "preferences" / "preferences-0002.csv",
        [
            row("preferences", preference_value="false"),
            row("preferences", updated_at="2024-02-01T00:00:00Z", preference_value="true"),
        ],
    )

    # fx rates: the same rate re-delivered with another value, and the next day's rate
    write_csv(
        landing / "fx_rates" / "fx_rates-0002.csv",
        [
            row("fx_rates", rate_to_usd="1.0925"),
            row("fx_rates", rate_date="2024-01-06", rate_to_usd="1.0930"),
        ],
    )


def run_dbt(args: list[str], tmp: Path):
    from dbt.cli.main import dbtRunner

    common = ["--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    # target/ and logs/ in tmp: other dbt runs in the project must not see this one's state
    paths = ["--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")]
    quiet = ["--no-send-anonymous-usage-stats", "--no-use-colors"]
    return dbtRunner().invoke([*args, *common, *paths, *quiet])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("staging")
    landing, path = tmp / "landing", tmp / "warehouse.duckdb"
    land(landing)
    con = connect(path)
    try:
        for table in TABLES:
            result = load_table(con, landing, table, NOW)
            assert result.rows_rejected == 0, table
    finally:
        con.close()

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SW_WAREHOUSE", str(path))
        mp.setenv("SW_EMAIL_SALT", SALT)
        mp.setenv("SW_DBT_TARGET", "duckdb")
        res = run_dbt(["build", "--select", "staging"], tmp)
    assert res.exception is None, res.exception
    statuses = {r.node.name: str(r.status) for r in res.result}
    not_ok = {name: s for name, s in statuses.items() if s not in ("success", "pass")}
    assert res.success and not not_ok, not_ok  # a warning (relationships) fails the test too
    assert sum(name in MODELS.values() for name in statuses) == len(MODELS)
    return path


@pytest.fixture(scope="module")
def db(warehouse):
    # read-write: dbt-duckdb may still hold the file open in this process, and DuckDB refuses a
    # second connection to one file with another access mode
    con = duckdb.connect(str(warehouse))
    yield con
    con.close()


def rows(db, sql: str) -> list[tuple]:
    return db.execute(sql).fetchall()


def columns(db, model: str) -> list[str]:
    return [
        r[0]
        for r in rows(
            db,
            "select column_name from information_schema.columns "
            f"where table_schema = 'staging' and table_name = '{model}' order by ordinal_position",
        )
    ]


# staged as tables: their dedupe runs once, not in every model and test that reads them
LARGE = {
    "stg_product__usage_events",
    "stg_billing__subscription_events",
    "stg_billing__payments",
    "stg_billing__invoices",
    "stg_marketing__campaign_touches",
}
# every column of a customer's latest version, PII included: a table (the exports read it)
CUSTOMERS_BASE = "base_billing__customers"


def test_every_table_is_staged_as_a_view_and_the_large_ones_as_tables(db):
    staged = rows(
        db,
        "select table_name, table_type from information_schema.tables "
        "where table_schema = 'staging' order by 1",
    )
    expected = [(m, "BASE TABLE" if m in LARGE else "VIEW") for m in MODELS.values()]
    assert staged == sorted([*expected, (CUSTOMERS_BASE, "BASE TABLE")])


def test_contract_columns_are_kept_and_lineage_dropped(db):
    for table, model in MODELS.items():
        expected = list(TABLES[table].column_names)
        if table == "customers":
            expected = [c for c in expected if c not in ("full_name", "phone")]
            expected[expected.index("email")] = "email_hash"
        if table == "subscription_events":
            expected += ["source_file", "delivery_count", "has_conflicting_copies"]
        assert columns(db, model) == expected, model


def test_only_the_customers_base_table_holds_pii(db):
    """It is read by stg_billing__customers (which hashes the address) and the e-mail exports."""
    exposed = rows(
        db,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'staging' and column_name in ('email', 'full_name') order by all",
    )
    assert exposed == [(CUSTOMERS_BASE, "email"), (CUSTOMERS_BASE, "full_name")]


def test_customers_latest_version_wins_and_email_is_hashed(db):
    assert rows(db, "select * from staging.stg_billing__customers order by customer_id") == [
        (
            "cus_1",
            hashlib.sha256((SALT + "ana@example.com").encode()).hexdigest(),
            "ES",  # updated 2024-03-01 beats 2024-01-05, though its file sorts first
            datetime(2024, 1, 5, 10, 0),
            "organic",
            None,
            datetime(2024, 3, 1),
        ),
        (
            "cus_2",
            hashlib.sha256((SALT + "bob@example.com").encode()).hexdigest(),
            "DE",  # equal updated_at: customers-0002.csv sorts last
            datetime(2024, 2, 1),
            "paid_search",
            "cmp_1",
            datetime(2024, 2, 1),
        ),
    ]


def test_plans_keep_every_version(db):
    assert rows(
        db,
        "select plan_id, plan_name, unit_amount, updated_at "
        "from staging.stg_billing__plans order by updated_at",
    ) == [
        ("pro-monthly-usd", "Pro monthly (renamed)", Decimal("49.0000"), datetime(2023, 12, 1)),
        ("pro-monthly-usd", "Pro monthly", Decimal("59.0000"), datetime(2024, 4, 1)),
    ]


def test_subscription_events_dedupe_and_report_redeliveries(db):
    assert rows(db, "select * from staging.stg_billing__subscription_events order by event_id") == [
        (
            "evt_1",
            "sub_1",
            "cus_1",
            "created",
            "active",
            datetime(2024, 1, 5, 10, 0),
            "pro-monthly-usd",
            5,  # the copy in subscription_events-0003.parquet wins over -0001.csv's 3
            None,
            Decimal("10.00000000"),
            None,
            None,
            "subscription_events/subscription_events-0003.parquet",
            2,
            True,
        ),
        (
            "evt_2",
            "sub_1",
            "cus_1",
            "quantity_changed",
            "active",
            datetime(2024, 2, 1),
            "pro-monthly-usd",
            4,
            None,
            Decimal("10.00000000"),
            None,
            None,
            "subscription_events/subscription_events-0003.parquet",
            2,
            False,  # two identical deliveries are one event, not a conflict
        ),
    ]


def test_invoices_latest_version_wins(db):
    assert rows(
        db,
        "select invoice_id, status, updated_at from staging.stg_billing__invoices order by 1",
    ) == [
        ("inv_1", "paid", datetime(2024, 1, 5, 10, 5)),
        ("inv_2", "paid", datetime(2024, 2, 3)),  # paid (newer) beats open, file order aside
        ("inv_3", "void", datetime(2024, 2, 1)),  # equal updated_at in one file: later row
    ]


@pytest.mark.parametrize("table", sorted(REDELIVERED))
def test_redelivered_key_takes_the_last_files_copy(db, table):
    column, _ = REDELIVERED[table]
    key = TABLES[table].key[0]
    assert rows(db, f"select {key}, {column} from staging.{MODELS[table]}") == [
        (
            {
                "payments": "pay_1",
                "refunds": "ref_1",
                "usage_events": "use_1",
                "support_tickets": "tkt_1",
                "campaigns": "cmp_1",
                "campaign_touches": "tch_1",
                "campaign_assignments": "asg_1",
                "social_interactions": "soc_1",
            }[table],
            {
                "payments": datetime(2024, 1, 5, 10, 6),
                "refunds": "duplicate charge",
                "usage_events": "export",
                "support_tickets": "high",
                "campaigns": Decimal("12500.0000"),
                "campaign_touches": "converted",
                "campaign_assignments": "holdout",
                "social_interactions": Decimal("-0.20000000"),
            }[table],
        )
    ]


def test_usage_quantity_stays_null_and_timestamps_stay_utc(db):
    assert rows(db, "select quantity, properties from staging.stg_product__usage_events") == [
        (None, '{"device": "web"}')
    ]
    # '2024-01-07T09:00:00-05:00' lands as naive UTC
    assert rows(db, "select opened_at, resolved_at from staging.stg_support__tickets") == [
        (datetime(2024, 1, 7, 14, 0), datetime(2024, 1, 7, 16, 0))
    ]


def test_preferences_and_fx_rates_dedupe_on_their_compound_key(db):
    assert rows(db, "select * from staging.stg_crm__preferences order by updated_at") == [
        ("cus_1", "email_opt_in", datetime(2024, 1, 5, 10, 0), "false"),
        ("cus_1", "email_opt_in", datetime(2024, 2, 1), "true"),
    ]
    assert rows(db, "select * from staging.stg_finance__fx_rates order by rate_date") == [
        (date(2024, 1, 5), "EUR", Decimal("1.09250000")),
        (date(2024, 1, 6), "EUR", Decimal("1.09300000")),
    ]


def test_models_yaml_documents_every_column_and_matches_contract_enums():
    """Without dbt: the YAML describes each model and column, and enum tests match the contract."""
    spec = yaml.safe_load((STAGING / "_staging__models.yml").read_text())
    models = {m["name"]: m for m in spec["models"]}
    assert set(models) == {*MODELS.values(), CUSTOMERS_BASE}
    for table, name in MODELS.items():
        model = models[name]
        assert "one row per" in model["description"].lower(), name
        for col in model["columns"]:
            assert col.get("description"), (name, col["name"])
        # the model's rules are one test (row_rules), its accepted values among them
        (rules,) = [t["row_rules"]["arguments"] for t in model["data_tests"] if "row_rules" in t]
        enum_tests = {c: tuple(v) for c, v in rules.get("accepted_values", {}).items()}
        contract_enums = {c.name: c.enum for c in TABLES[table].columns if c.enum}
        assert {c: enum_tests[c] for c in contract_enums if c in enum_tests} == contract_enums, name

    sources = yaml.safe_load((STAGING / "_sources.yml").read_text())["sources"]
    assert {t["name"] for t in sources[0]["tables"]} == set(TABLES)
    for t in sources[0]["tables"]:
        assert t["config"]["meta"]["dagster"]["asset_key"] == ["raw", t["name"]]
