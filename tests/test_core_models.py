"""The dbt core marts and the subscriber snapshot on a hand-made warehouse.

Three customers, two plans, a EUR rate and a few rows in every other table are landed and loaded
with the real loader; `dbt build --select +marts.core +snap_subscribers` runs once, the tests read
the marts and compare them with values computed by hand. A later plan_changed event is then
landed and the build (with its snapshot) runs again: the snapshot keeps both versions.

As of = the latest subscription event, 2024-03-01 00:00 (evt_5) in the first build, so the
"last 30 days" start after 2024-01-31 00:00 and the "last 90 days" after 2023-12-02 00:00.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml
from rows import row, write_csv

from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load import connect, load_table

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "dbt_project" / "models" / "marts" / "core"
NOW = datetime(2024, 6, 1)
SELECT = ["--select", "+marts.core", "+snap_subscribers"]


def event(event_id: str, subscription_id: str, customer_id: str, **values: str) -> dict[str, str]:
    return row(
        "subscription_events",
        event_id=event_id,
        subscription_id=subscription_id,
        customer_id=customer_id,
        **{"discount_pct": "", **values},
    )


def payment(payment_id: str, attempted_at: str, status: str, **values: str) -> dict[str, str]:
    reason = "card_declined" if status == "failed" else ""
    return row(
        "payments",
        payment_id=payment_id,
        attempted_at=attempted_at,
        status=status,
        failure_reason=reason,
        **{"amount": "143.55", **values},
    )


def land(landing: Path) -> None:
    def put(table: str, rows: list[dict[str, str]]) -> None:
        write_csv(landing / table / f"{table}-0001.csv", rows)

    put(
        "customers",
        [
            row("customers"),  # cus_1, organic
            row(
                "customers",
                customer_id="cus_2",
                email="bob@example.com",
                acquisition_channel="paid_search",
                acquisition_campaign_id="cmp_1",
            ),
            row("customers", customer_id="cus_3", email="cy@example.com"),  # never subscribes
        ],
    )
    put(
        "plans",
        [
            row("plans"),  # pro-monthly-usd: 49 USD a month
            row(
                "plans",
                plan_id="basic-yearly-eur",
                plan_name="Basic yearly",
                tier="basic",
                billing_interval="year",
                unit_amount="120.00",
                currency="EUR",
                trial_days="0",
            ),
            row("plans", plan_id="team-monthly-usd", plan_name="Team", unit_amount="99.00"),
        ],
    )
    put("fx_rates", [row("fx_rates", rate_date="2024-01-01", rate_to_usd="1.10")])
    put(
        "subscription_events",
        [
            # cus_1: sub_1 active 49 × 3 × 0.9 = 132.30 USD; sub_2 in trial
            event("evt_1", "sub_1", "cus_1", quantity="3", discount_pct="10"),
            event(
                "evt_3",
                "sub_2",
                "cus_1",
                event_type="trial_started",
                status="trialing",
                occurred_at="2024-02-10T00:00:00Z",
                plan_id="basic-yearly-eur",
                quantity="1",
            ),
            # cus_2: 120 EUR a year × 2 = 20 EUR a month × 1.10 = 22.00 USD, paused on March 1st
            event(
                "evt_4",
                "sub_3",
                "cus_2",
                occurred_at="2024-01-10T00:00:00Z",
                plan_id="basic-yearly-eur",
                quantity="2",
            ),
            event(
                "evt_5",
                "sub_3",
                "cus_2",
                event_type="paused",
                status="paused",
                occurred_at="2024-03-01T00:00:00Z",
                plan_id="basic-yearly-eur",
                quantity="2",
            ),
        ],
    )
    put(
        "invoices",
        [
            row("invoices"),  # inv_1: cus_1, 143.55 USD, issued 2024-01-05 10:00
            row(
                "invoices",
                invoice_id="inv_2",
                customer_id="cus_2",
                subscription_id="",
                issued_at="2024-01-10T00:00:00Z",
                subtotal="24.00",
                discount_amount="0",
                tax_amount="0",
                total="24.00",
                currency="EUR",
            ),
        ],
    )
    put(
        "payments",
        [
            # inv_1: two failed attempts, then a success; listed out of order
            payment("pay_3", "2024-01-12T09:00:00Z", "succeeded"),
            payment("pay_1", "2024-01-05T10:05:00Z", "failed"),
            payment("pay_2", "2024-01-08T10:05:00Z", "failed"),
            payment(
                "pay_4",
                "2024-01-10T00:00:00Z",
                "succeeded",
                invoice_id="inv_2",
                customer_id="cus_2",
                amount="24.00",
                currency="EUR",
            ),
            # a payment tied to no invoice is its own first attempt
            payment(
                "pay_5",
                "2024-02-01T00:00:00Z",
                "succeeded",
                invoice_id="",
                customer_id="cus_2",
                amount="5.00",
            ),
        ],
    )
    put("refunds", [row("refunds", payment_id="pay_3", amount="10.00")])
    put(
        "usage_events",
        [
            row("usage_events", event_id="use_1", occurred_at="2024-01-15T08:00:00Z"),
            row("usage_events", event_id="use_2", occurred_at="2024-02-20T08:00:00Z"),
            row(
                "usage_events", event_id="use_3", occurred_at="2024-02-20T09:00:00Z", quantity="2.5"
            ),
            row(
                "usage_events",
                event_id="use_4",
                occurred_at="2024-02-20T10:00:00Z",
                event_name="export",
                quantity="5",
            ),
            # 23:30 in New York is the next UTC day
            row("usage_events", event_id="use_5", occurred_at="2024-02-20T23:30:00-05:00"),
        ],
    )
    put(
        "support_tickets",
        [
            row("support_tickets"),  # 2024-01-07 14:00 → 16:00 UTC, score 4
            row(
                "support_tickets",
                ticket_id="tkt_2",
                opened_at="2023-11-01T00:00:00Z",
                resolved_at="",
                satisfaction_score="",
            ),
            row(
                "support_tickets",
                ticket_id="tkt_3",
                opened_at="2024-02-15T10:00:00Z",
                resolved_at="2024-02-15T10:30:00Z",
                satisfaction_score="1",
            ),
        ],
    )
    put("campaigns", [row("campaigns")])
    put("campaign_touches", [row("campaign_touches", customer_id="cus_2")])
    put(
        "preferences",
        [
            row("preferences"),  # email_opt_in true on 2024-01-05 ...
            row("preferences", updated_at="2024-02-01T00:00:00Z", preference_value="false"),
            row("preferences", preference_key="sms_opt_in"),
            row("preferences", preference_key="preferred_language", preference_value="pt"),
            row(
                "preferences",
                preference_key="preferred_language",
                preference_value="en",
                updated_at="2024-02-15T00:00:00Z",
            ),
            row(
                "preferences",
                preference_key="content_interests",
                preference_value="analytics,billing",
            ),
        ],
    )
    put(
        "social_interactions",
        [
            row("social_interactions"),  # cus_1, 0.6 on 2024-01-08
            row(
                "social_interactions",
                interaction_id="soc_2",
                sentiment_score="-0.2",
                occurred_at="2024-02-10T00:00:00Z",
            ),
            row(
                "social_interactions",
                interaction_id="soc_3",
                customer_id="",
                handle="@anon",
                sentiment_score="0.9",
                occurred_at="2024-02-20T00:00:00Z",
            ),
        ],
    )


def load(landing: Path, path: Path, tables=TABLES) -> None:
    con = connect(path)
    try:
        for table in tables:
            result = load_table(con, landing, table, NOW)
            assert result.rows_rejected == 0, table
    finally:
        con.close()


def run_dbt(args: list[str], tmp: Path):
    from dbt.cli.main import dbtRunner

    common = ["--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    paths = ["--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")]
    quiet = ["--no-send-anonymous-usage-stats", "--no-use-colors", "--quiet"]
    return dbtRunner().invoke([*args, *common, *paths, *quiet])


def build(tmp: Path) -> dict[str, str]:
    res = run_dbt(["build", *SELECT], tmp)
    assert res.exception is None, res.exception
    statuses = {r.node.unique_id: str(r.status) for r in res.result}
    not_ok = {name: s for name, s in statuses.items() if s not in ("success", "pass")}
    assert res.success and not not_ok, not_ok  # a warning (relationships) fails the test too
    return statuses


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Yields a function that reads the warehouse after the first or the second build."""
    tmp = tmp_path_factory.mktemp("core")
    landing, path = tmp / "landing", tmp / "warehouse.duckdb"
    land(landing)
    load(landing, path)

    def read(sql: str) -> list[tuple]:
        # read-write: dbt-duckdb may still hold the file open in this process
        con = duckdb.connect(str(path))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SW_WAREHOUSE", str(path))
        mp.setenv("SW_DBT_TARGET", "duckdb")
        statuses = build(tmp)
        assert "snapshot.subscriber_warehouse.snap_subscribers" in statuses
        first = {
            "dim_subscribers": read("select * from marts.dim_subscribers order by customer_id"),
            "fct_subscription_events": read(
                "select event_id, mrr, mrr_change_from_previous_state "
                "from marts.fct_subscription_events order by event_id"
            ),
        }

        # later: cus_1 moves sub_1 to the team plan (99 × 3 × 0.9 = 267.30)
        write_csv(
            landing / "subscription_events" / "subscription_events-0002.csv",
            [
                event(
                    "evt_7",
                    "sub_1",
                    "cus_1",
                    event_type="plan_changed",
                    occurred_at="2024-04-01T00:00:00Z",
                    plan_id="team-monthly-usd",
                    quantity="3",
                    discount_pct="10",
                )
            ],
        )
        load(landing, path, ["subscription_events"])
        build(tmp)
    yield read, first


def test_payment_attempts_are_numbered_per_invoice(warehouse):
    read, _ = warehouse
    assert read(
        "select payment_id, invoice_id, attempt_number, is_dunning_retry, amount_reporting "
        "from marts.fct_payments order by payment_id"
    ) == [
        ("pay_1", "inv_1", 1, False, Decimal("143.55")),
        ("pay_2", "inv_1", 2, True, Decimal("143.55")),
        ("pay_3", "inv_1", 3, True, Decimal("143.55")),
        ("pay_4", "inv_2", 1, False, Decimal("26.40")),  # 24 EUR × 1.10
        ("pay_5", None, 1, False, Decimal("5.00")),
    ]


def test_invoices_convert_totals_and_measure_days_to_pay(warehouse):
    read, _ = warehouse
    assert read(
        "select invoice_id, total, total_reporting, is_one_off, payment_attempts, "
        "failed_payment_attempts, first_paid_at, days_to_pay from marts.fct_invoices order by 1"
    ) == [
        ("inv_1", Decimal("143.5500"), Decimal("143.55"), False, 3, 2, datetime(2024, 1, 12, 9), 7),
        ("inv_2", Decimal("24.0000"), Decimal("26.40"), True, 1, 0, datetime(2024, 1, 10), 0),
    ]
    assert read("select refund_id, invoice_id, amount_reporting from marts.fct_refunds") == [
        ("ref_1", "inv_1", Decimal("10.00"))
    ]


def test_usage_daily_counts_events_and_reads_null_quantity_as_one(warehouse):
    read, _ = warehouse
    assert read(
        "select customer_id, usage_date, event_name, event_count, total_quantity "
        "from marts.fct_usage_daily order by usage_date, event_name"
    ) == [
        ("cus_1", date(2024, 1, 15), "login", 1, Decimal("1")),
        ("cus_1", date(2024, 2, 20), "export", 1, Decimal("5")),
        ("cus_1", date(2024, 2, 20), "login", 2, Decimal("3.5")),  # null → 1, plus 2.5
        ("cus_1", date(2024, 2, 21), "login", 1, Decimal("1")),  # 23:30 -05:00 → 04:30 UTC
    ]


def test_tickets_touches_and_social_interactions(warehouse):
    read, _ = warehouse
    assert read(
        "select ticket_id, is_resolved, resolution_hours, is_low_satisfaction "
        "from marts.fct_support_tickets order by 1"
    ) == [("tkt_1", True, 2.0, False), ("tkt_2", False, None, False), ("tkt_3", True, 0.5, True)]
    assert read("select touch_id, campaign_channel from marts.fct_campaign_touches") == [
        ("tch_1", "paid_search")
    ]
    assert read(
        "select interaction_id, is_matched from marts.fct_social_interactions order by 1"
    ) == [("soc_1", True), ("soc_2", True), ("soc_3", False)]


def test_dim_subscribers_as_of_the_first_build(warehouse):
    _, first = warehouse
    columns = [
        "customer_id",
        "status",
        "active_subscriptions",
        "current_plan_ids",
        "current_mrr",
        "cohort_month",
        "historical_net_revenue",
        "tenure_months",
        "email_opt_in",
        "sms_opt_in",
        "preferred_language",
        "content_interests",
        "tickets_total",
        "tickets_last_90_days",
        "avg_satisfaction_score",
        "usage_events_last_30_days",
        "last_active_date",
        "latest_sentiment_score",
        "failed_payments_last_90_days",
        "as_of_at",
    ]
    got = [
        {c: r[i] for i, c in enumerate(dim_subscribers_columns()) if c in columns}
        for r in first["dim_subscribers"]
    ]
    as_of = datetime(2024, 3, 1)
    assert got == [
        {
            "customer_id": "cus_1",
            "status": "active",  # active beats trialing
            "active_subscriptions": 1,
            "current_plan_ids": "basic-yearly-eur, pro-monthly-usd",
            "current_mrr": Decimal("132.30"),
            "cohort_month": date(2024, 1, 1),
            "historical_net_revenue": Decimal("133.55"),  # 143.55 paid − 10.00 refunded
            "tenure_months": 2,  # January → March
            "email_opt_in": False,  # opted out after opting in
            "sms_opt_in": True,
            "preferred_language": "en",
            "content_interests": "analytics,billing",
            "tickets_total": 3,
            "tickets_last_90_days": 2,  # not the one of 2023-11-01
            "avg_satisfaction_score": 2.5,  # (4 + 1) / 2; unrated tickets left out
            "usage_events_last_30_days": 4,  # not the one of 2024-01-15
            "last_active_date": date(2024, 2, 21),
            "latest_sentiment_score": -0.2,
            "failed_payments_last_90_days": 2,
            "as_of_at": as_of,
        },
        {
            "customer_id": "cus_2",
            "status": "paused",
            "active_subscriptions": 0,
            "current_plan_ids": "basic-yearly-eur",
            "current_mrr": Decimal("0.00"),  # paused at the as-of instant
            "cohort_month": date(2024, 1, 1),  # 22.00 USD at the end of January
            "historical_net_revenue": Decimal("31.40"),  # 26.40 + 5.00
            "tenure_months": 2,
            "email_opt_in": None,
            "sms_opt_in": None,
            "preferred_language": None,
            "content_interests": None,
            "tickets_total": 0,
            "tickets_last_90_days": 0,
            "avg_satisfaction_score": None,
            "usage_events_last_30_days": 0,
            "last_active_date": None,
            "latest_sentiment_score": None,
            "failed_payments_last_90_days": 0,
            "as_of_at": as_of,
        },
        {
            "customer_id": "cus_3",
            "status": "none",
            "active_subscriptions": 0,
            "current_plan_ids": None,
            "current_mrr": Decimal("0.00"),
            "cohort_month": None,
            "historical_net_revenue": Decimal("0.00"),
            "tenure_months": None,
            "email_opt_in": None,
            "sms_opt_in": None,
            "preferred_language": None,
            "content_interests": None,
            "tickets_total": 0,
            "tickets_last_90_days": 0,
            "avg_satisfaction_score": None,
            "usage_events_last_30_days": 0,
            "last_active_date": None,
            "latest_sentiment_score": None,
            "failed_payments_last_90_days": 0,
            "as_of_at": as_of,
        },
    ]


def test_subscription_events_carry_mrr_changes(warehouse):
    read, first = warehouse
    assert first["fct_subscription_events"] == [
        ("evt_1", Decimal("132.30"), Decimal("132.30")),
        ("evt_3", Decimal("0.00"), Decimal("0.00")),
        ("evt_4", Decimal("22.00"), Decimal("22.00")),
        ("evt_5", Decimal("0.00"), Decimal("-22.00")),
    ]
    assert read(
        "select event_id, plan_version, mrr, mrr_change_from_previous_state "
        "from marts.fct_subscription_events where event_id = 'evt_7'"
    ) == [("evt_7", 1, Decimal("267.30"), Decimal("135.00"))]
    assert read(
        "select subscription_id, event_id, state_number, mrr, valid_to, is_current "
        "from marts.fct_subscription_periods where subscription_id = 'sub_1' order by 3"
    ) == [
        ("sub_1", "evt_1", 1, Decimal("132.30"), datetime(2024, 4, 1), False),
        ("sub_1", "evt_7", 2, Decimal("267.30"), None, True),
    ]


def test_snapshot_keeps_a_version_per_change(warehouse):
    read, _ = warehouse
    assert read(
        "select customer_id, current_plan_ids, current_mrr, dbt_valid_to is null "
        "from snapshots.snap_subscribers order by customer_id, dbt_valid_from"
    ) == [
        ("cus_1", "basic-yearly-eur, pro-monthly-usd", Decimal("132.30"), False),
        ("cus_1", "basic-yearly-eur, team-monthly-usd", Decimal("267.30"), True),
        ("cus_2", "basic-yearly-eur", Decimal("0.00"), True),  # only tenure moved: not checked
        ("cus_3", None, Decimal("0.00"), True),
    ]


def dim_subscribers_columns() -> list[str]:
    spec = yaml.safe_load((CORE / "_core__models.yml").read_text())
    model = next(m for m in spec["models"] if m["name"] == "dim_subscribers")
    return [c["name"] for c in model["columns"]]


def test_core_yaml_documents_every_model_and_column():
    """Without dbt: each core model has a grain, each of its SQL's columns a description."""
    spec = yaml.safe_load((CORE / "_core__models.yml").read_text())
    models = {m["name"]: m for m in spec["models"]}
    assert set(models) == {p.stem for p in CORE.glob("*.sql")}
    for name, model in models.items():
        assert "one row per" in model["description"].lower(), name
        for col in model["columns"]:
            assert col.get("description"), (name, col["name"])
        if model.get("config", {}).get("contract", {}).get("enforced"):
            assert all(col.get("data_type") for col in model["columns"]), name
    contracted = {n for n, m in models.items() if m.get("config", {}).get("contract")}
    assert contracted == {
        "dim_subscribers",
        "dim_plans",
        "fct_subscription_periods",
        "fct_subscription_events",
    }
