"""The raw loader: typing, every rejection rule, accounting, idempotence, formats, time zones."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from rows import VALID, land_minimal, row, write_csv, write_parquet

from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load import LoadError, connect, load_table

NOW = datetime(2024, 6, 1, 12, 0, 0)


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "wh.duckdb")
    yield c
    c.close()


def load(con, landing, table, now=NOW):
    return load_table(con, landing, table, now)


def rejected(con, table):
    return con.execute(
        "select source_file, source_row, column_name, reason from raw.rejected_rows "
        "where table_name = ? order by source_file, source_row",
        [table],
    ).fetchall()


# (table, overrides, column, exact reason)
REJECTIONS = [
    ("customers", {"customer_id": ""}, "customer_id", "customer_id: required value is missing"),
    (
        "customers",
        {"country": "XX"},
        "country",
        "country: 'XX' is not an ISO-3166 alpha-2 country code",
    ),
    (
        "plans",
        {"billing_interval": "fortnight"},
        "billing_interval",
        "billing_interval: unknown value 'fortnight' (expected one of day, week, month, year)",
    ),
    ("plans", {"interval_count": "0"}, "interval_count", "interval_count: 0 must be at least 1"),
    (
        "plans",
        {"interval_count": "1.5"},
        "interval_count",
        "interval_count: '1.5' is not a whole number",
    ),
    ("plans", {"unit_amount": "-1"}, "unit_amount", "unit_amount: -1 must be at least 0"),
    ("plans", {"currency": "usd"}, "currency", "currency: 'usd' is not an ISO-4217 currency code"),
    (
        "plans",
        {"currency": "JPY", "unit_amount": "1200.50"},
        "unit_amount",
        "unit_amount: '1200.50' is finer than the minor unit of JPY",
    ),
    (
        "subscription_events",
        {"status": "expired"},
        "status",
        "status: unknown value 'expired' (expected one of trialing, active, paused, canceled)",
    ),
    (
        "subscription_events",
        {"discount_pct": "140"},
        "discount_pct",
        "discount_pct: 140 must be at most 100",
    ),
    ("subscription_events", {"quantity": "-2"}, "quantity", "quantity: -2 must be at least 0"),
    (
        "subscription_events",
        {"occurred_at": "2024-06-03T00:00:00Z"},
        "occurred_at",
        "occurred_at: 2024-06-03T00:00:00Z is future-dated (more than one day after the load "
        "at 2024-06-01T12:00:00Z)",
    ),
    (
        "subscription_events",
        {"occurred_at": "05/01/2024 10:00"},
        "occurred_at",
        "occurred_at: '05/01/2024 10:00' is not an ISO-8601 timestamp",
    ),
    (
        "subscription_events",
        {"occurred_at": "2023-02-29T00:00:00Z"},
        "occurred_at",
        "occurred_at: '2023-02-29T00:00:00Z' is not an ISO-8601 timestamp",
    ),
    (
        "subscription_events",
        {"cancel_reason": "bored"},
        "cancel_reason",
        "cancel_reason: unknown value 'bored' (expected one of too_expensive, missing_features, "
        "switched_competitor, not_using, payment_failed, other)",
    ),
    (
        "invoices",
        {"period_end": "2024-01-01"},
        "period_end",
        "period_end: period_end is before period_start",
    ),
    (
        "invoices",
        {"period_start": "2024-1-5"},
        "period_start",
        "period_start: '2024-1-5' is not a YYYY-MM-DD date",
    ),
    (
        "invoices",
        {"total": "150.00"},
        "total",
        "total: total is not subtotal - discount_amount + tax_amount",
    ),
    ("invoices", {"subtotal": "twelve"}, "subtotal", "subtotal: 'twelve' is not a decimal amount"),
    ("payments", {"amount": "-143.55"}, "amount", "amount: -143.55 must be greater than 0"),
    ("payments", {"amount": "0"}, "amount", "amount: 0 must be greater than 0"),
    (
        "payments",
        {"amount": "1.234"},
        "amount",
        "amount: '1.234' is finer than the minor unit of USD",
    ),
    (
        "fx_rates",
        {"rate_to_usd": "1.123456789"},
        "rate_to_usd",
        "rate_to_usd: '1.123456789' has more than 8 decimal places",
    ),
    ("refunds", {"payment_id": ""}, "payment_id", "payment_id: required value is missing"),
    (
        "usage_events",
        {"properties": "[1, 2]"},
        "properties",
        "properties: '[1, 2]' is not a JSON object",
    ),
    (
        "usage_events",
        {"properties": "{broken"},
        "properties",
        "properties: '{broken' is not a JSON object",
    ),
    (
        "support_tickets",
        {"resolved_at": "2024-01-07T08:00:00-05:00"},
        "resolved_at",
        "resolved_at: resolved_at is before opened_at",
    ),
    (
        "support_tickets",
        {"satisfaction_score": "6"},
        "satisfaction_score",
        "satisfaction_score: 6 must be at most 5",
    ),
    (
        "support_tickets",
        {"priority": "P1"},
        "priority",
        "priority: unknown value 'P1' (expected one of low, normal, high, urgent)",
    ),
    (
        "campaigns",
        {"ended_at": "2023-12-31T00:00:00Z"},
        "ended_at",
        "ended_at: ended_at is before started_at",
    ),
    (
        "campaign_touches",
        {"touch_type": "liked"},
        "touch_type",
        "touch_type: unknown value 'liked' (expected one of sent, delivered, opened, clicked, "
        "converted, unsubscribed)",
    ),
    (
        "preferences",
        {"preference_value": ""},
        "preference_value",
        "preference_value: required value is missing",
    ),
    (
        "social_interactions",
        {"sentiment_score": "-1.5"},
        "sentiment_score",
        "sentiment_score: -1.5 must be at least -1",
    ),
    ("fx_rates", {"rate_to_usd": "0"}, "rate_to_usd", "rate_to_usd: 0 must be greater than 0"),
]


@pytest.mark.parametrize(("table", "overrides", "column", "reason"), REJECTIONS)
def test_each_rule_quarantines_the_row_with_its_reason(
    con, tmp_path, table, overrides, column, reason
):
    write_csv(tmp_path / table / "a.csv", [VALID[table], row(table, **overrides)])
    result = load(con, tmp_path, table)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert rejected(con, table) == [(f"{table}/a.csv", 2, column, reason)]


def test_every_table_accepts_its_valid_row(con, tmp_path):
    land_minimal(tmp_path)
    for table in TABLES:
        result = load(con, tmp_path, table)
        assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1, 1, 0), table
    assert rejected(con, "customers") == []


def test_a_row_breaking_several_rules_names_them_all(con, tmp_path):
    bad = row("payments", amount="-1", currency="EURO", status="pending")
    write_csv(tmp_path / "payments" / "a.csv", [bad])
    load(con, tmp_path, "payments")
    [(_, _, column, reason)] = rejected(con, "payments")
    assert column == "amount"
    assert reason == (
        "amount: -1 must be greater than 0; currency: 'EURO' is not an ISO-4217 currency code; "
        "status: unknown value 'pending' (expected one of succeeded, failed)"
    )


def test_quarantined_row_keeps_the_raw_record(con, tmp_path):
    write_csv(tmp_path / "payments" / "a.csv", [row("payments", amount="abc")])
    load(con, tmp_path, "payments")
    (record,) = con.execute("select raw_record::json->>'amount' from raw.rejected_rows").fetchall()[
        0
    ]
    assert record == "abc"


def test_row_with_wrong_field_count_is_quarantined_with_its_line(con, tmp_path):
    path = write_csv(tmp_path / "refunds" / "a.csv", [VALID["refunds"]])
    with open(path, "a", encoding="utf-8") as f:
        f.write("ref_2,pay_1,cus_1\n")  # a truncated line
    result = load(con, tmp_path, "refunds")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)
    assert rejected(con, "refunds") == [
        ("refunds/a.csv", 2, None, "row has 3 fields, the header has 7 (line 3)")
    ]


def test_non_utf8_bytes_quarantine_the_row_naming_the_column(con, tmp_path):
    path = write_csv(tmp_path / "refunds" / "a.csv", [VALID["refunds"]])
    with open(path, "ab") as f:
        f.write(b"ref_2,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,caf\xe9\n")
    load(con, tmp_path, "refunds")
    assert rejected(con, "refunds") == [
        ("refunds/a.csv", 2, "reason", "reason: not valid UTF-8 (line 3)")
    ]


def test_quoted_fields_keep_commas_quotes_and_newlines(con, tmp_path):
    tricky = 'Said "hi", then\nleft'
    write_csv(tmp_path / "refunds" / "a.csv", [row("refunds", reason=tricky), VALID["refunds"]])
    result = load(con, tmp_path, "refunds")
    assert result.rows_loaded == 2
    rows = con.execute(
        "select reason, _source_row from raw.refunds order by _source_row"
    ).fetchall()
    assert rows == [(tricky, 1), ("seat removed", 2)]


def test_bom_and_windows_line_endings(con, tmp_path):
    path = tmp_path / "fx_rates" / "a.csv"
    path.parent.mkdir()
    path.write_bytes(b"\xef\xbb\xbfrate_date,currency,rate_to_usd\r\n2024-01-05,EUR,1.09\r\n")
    assert load(con, tmp_path, "fx_rates").rows_loaded == 1
    assert con.execute("select currency from raw.fx_rates").fetchall()[0] == ("EUR",)


def test_missing_required_column_fails_the_file_naming_it(con, tmp_path):
    header = [c for c in VALID["payments"] if c != "amount"]
    write_csv(tmp_path / "payments" / "a.csv", [VALID["payments"]], header=header)
    with pytest.raises(LoadError, match=r"payments/a.csv: missing required column 'amount'"):
        load(con, tmp_path, "payments")


def test_missing_null_ok_column_loads_as_null(con, tmp_path):
    header = [c for c in VALID["payments"] if c != "failure_reason"]
    write_csv(tmp_path / "payments" / "a.csv", [VALID["payments"]], header=header)
    assert load(con, tmp_path, "payments").rows_loaded == 1
    assert con.execute("select failure_reason from raw.payments").fetchall()[0] == (None,)


def test_a_contract_2_customers_file_without_phone_loads_with_no_phone(con, tmp_path):
    header = [c for c in VALID["customers"] if c != "phone"]
    write_csv(tmp_path / "customers" / "a.csv", [VALID["customers"]], header=header)
    assert load(con, tmp_path, "customers").rows_loaded == 1
    assert con.execute("select email, phone from raw.customers").fetchall() == [
        ("ana@example.com", None)
    ]


def test_unknown_column_is_kept_out_and_reported(con, tmp_path):
    write_csv(tmp_path / "refunds" / "a.csv", [{**VALID["refunds"], "agent_notes": "x"}])
    result = load(con, tmp_path, "refunds")
    assert result.files[0].unknown_columns == ["agent_notes"]
    columns = [r[0] for r in con.execute("describe raw.refunds").fetchall()]
    assert "agent_notes" not in columns
    assert con.execute("select unknown_columns from raw.load_files").fetchall()[0] == (
        ["agent_notes"],
    )


def test_column_names_are_case_insensitive_and_order_free(con, tmp_path):
    values = VALID["fx_rates"]
    path = tmp_path / "fx_rates" / "a.csv"
    path.parent.mkdir()
    path.write_text(f"RATE_TO_USD,Currency,rate_date\n{values['rate_to_usd']},EUR,2024-01-05\n")
    assert load(con, tmp_path, "fx_rates").rows_loaded == 1


def test_empty_file_fails_naming_the_file(con, tmp_path):
    (tmp_path / "refunds").mkdir()
    (tmp_path / "refunds" / "empty.csv").write_text("")
    with pytest.raises(LoadError, match=r"refunds/empty.csv: the file is empty"):
        load(con, tmp_path, "refunds")


def test_header_only_file_loads_nothing(con, tmp_path):
    (tmp_path / "refunds").mkdir()
    (tmp_path / "refunds" / "h.csv").write_text(",".join(VALID["refunds"]) + "\n")
    result = load(con, tmp_path, "refunds")
    assert (result.rows_read, result.rows_loaded, len(result.files)) == (0, 0, 1)


def test_unparseable_csv_fails_naming_file_and_line(con, tmp_path):
    path = write_csv(tmp_path / "refunds" / "a.csv", [VALID["refunds"]])
    with open(path, "a", encoding="utf-8") as f:
        f.write('ref_2,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,"unterminated\n')
    with pytest.raises(LoadError, match=r"refunds/a.csv: cannot parse CSV at line"):
        load(con, tmp_path, "refunds")


def test_unreadable_parquet_fails_naming_the_file(con, tmp_path):
    (tmp_path / "refunds").mkdir()
    (tmp_path / "refunds" / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(LoadError, match=r"refunds/broken.parquet: cannot read Parquet"):
        load(con, tmp_path, "refunds")


def test_required_table_missing_fails_and_optional_table_is_empty(con, tmp_path):
    with pytest.raises(LoadError, match=r"no files for required table 'customers'"):
        load(con, tmp_path, "customers")
    # raw contract v2: every table but customers is optional, subscription_events and plans too
    for table in ("social_interactions", "subscription_events", "plans"):
        result = load(con, tmp_path, table)
        assert (result.rows_read, result.files) == (0, [])
        assert con.execute(f"select count(*) from raw.{table}").fetchall()[0] == (0,)


def test_dates_outside_what_duckdb_and_spark_both_store_are_quarantined(con, tmp_path):
    rows = [
        {**VALID["invoices"], "invoice_id": "bc", "issued_at": "0000-12-31T23:59:59Z"},
        # an offset that moves the instant before year 1 in UTC
        {**VALID["invoices"], "invoice_id": "tz", "issued_at": "0001-01-01T00:30:00+01:00"},
        {**VALID["invoices"], "invoice_id": "old", "issued_at": "1997-01-01T00:00:00Z"},
        {**VALID["invoices"], "invoice_id": "first", "period_start": "0001-01-01"},
    ]
    write_csv(tmp_path / "invoices" / "i.csv", rows)
    result = load(con, tmp_path, "invoices")
    assert (result.rows_loaded, result.rows_rejected) == (2, 2)
    rejected = con.execute(
        "select source_row, column_name, reason from raw.rejected_rows order by source_row"
    ).fetchall()
    assert rejected == [
        (1, "issued_at", "issued_at: '0000-12-31T23:59:59Z' is outside the dates the warehouse "
         "accepts (0001-01-01 to 9999-12-31)"),
        (2, "issued_at", "issued_at: '0001-01-01T00:30:00+01:00' is outside the dates the "
         "warehouse accepts (0001-01-01 to 9999-12-31)"),
    ]  # fmt: skip


def test_ignores_files_being_written_and_other_names(con, tmp_path):
    write_csv(tmp_path / "refunds" / "a.csv", [VALID["refunds"]])
    write_csv(tmp_path / "refunds" / ".b.csv", [VALID["refunds"]])
    write_csv(tmp_path / "refunds" / "c.csv.tmp", [VALID["refunds"]])
    write_csv(tmp_path / "refunds" / "_manifest.csv", [VALID["refunds"]])
    assert [f.file for f in load(con, tmp_path, "refunds").files] == ["refunds/a.csv"]


def test_csv_and_parquet_mixed_in_one_table(con, tmp_path):
    write_csv(tmp_path / "refunds" / "a.csv", [VALID["refunds"], row("refunds", amount="-1")])
    write_parquet(
        tmp_path / "refunds" / "b.parquet",
        [row("refunds", refund_id="ref_2"), row("refunds", refund_id="ref_3", amount="x")],
    )
    result = load(con, tmp_path, "refunds")
    assert [
        (f.file, f.format, f.rows_read, f.rows_loaded, f.rows_rejected) for f in result.files
    ] == [
        ("refunds/a.csv", "csv", 2, 1, 1),
        ("refunds/b.parquet", "parquet", 2, 1, 1),
    ]
    assert rejected(con, "refunds") == [
        ("refunds/a.csv", 2, "amount", "amount: -1 must be greater than 0"),
        ("refunds/b.parquet", 2, "amount", "amount: 'x' is not a decimal amount"),
    ]


def test_a_parquet_file_read_by_pyarrow_numbers_its_rows_across_batches(con, tmp_path, monkeypatch):
    """A file read_parquet cannot take literally (a glob character in its name) is read a batch
    at a time: its rows are numbered in file order all the same."""
    monkeypatch.setattr("subscriber_warehouse.load.stage.PARQUET_BATCH_ROWS", 2)
    rows = [row("refunds", refund_id=f"ref_{i}") for i in range(1, 6)]
    rows[3]["amount"] = "x"
    write_parquet(tmp_path / "refunds" / "refunds[1].parquet", rows)
    result = load(con, tmp_path, "refunds")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 4, 1)
    assert con.execute("select refund_id, _source_row from raw.refunds order by 2").fetchall() == [
        ("ref_1", 1),
        ("ref_2", 2),
        ("ref_3", 3),
        ("ref_5", 5),
    ]
    assert rejected(con, "refunds") == [
        ("refunds/refunds[1].parquet", 4, "amount", "amount: 'x' is not a decimal amount")
    ]


def test_time_zone_offsets_convert_to_utc(con, tmp_path):
    times = [
        "2024-03-01T01:30:00+02:00",  # crosses back into February in UTC (leap day)
        "2024-01-31T23:30:00-05:00",  # crosses forward into February
        "2024-03-10T01:59:59-08:00",  # the last second before US DST begins
        "2024-03-10T03:00:00-07:00",  # the first second after it
        "2024-06-01T00:00:00",  # no offset: UTC
    ]
    rows = [row("usage_events", event_id=f"u{i}", occurred_at=t) for i, t in enumerate(times)]
    write_csv(tmp_path / "usage_events" / "a.csv", rows)
    load(con, tmp_path, "usage_events")
    got = [
        r[0].isoformat()
        for r in con.execute(
            "select occurred_at from raw.usage_events order by _source_row"
        ).fetchall()
    ]
    assert got == [
        "2024-02-29T23:30:00",
        "2024-02-01T04:30:00",
        "2024-03-10T09:59:59",
        "2024-03-10T10:00:00",
        "2024-06-01T00:00:00",
    ]


def test_accounting_closes_for_every_file(con, tmp_path):
    write_csv(
        tmp_path / "payments" / "a.csv",
        [VALID["payments"], row("payments", amount="-1"), row("payments", status="x")],
    )
    write_csv(tmp_path / "payments" / "b.csv", [VALID["payments"]] * 4)
    result = load(con, tmp_path, "payments")
    loaded = con.execute("select count(*) from raw.payments").fetchall()[0][0]
    quarantined = con.execute("select count(*) from raw.rejected_rows").fetchall()[0][0]
    assert (result.rows_read, loaded, quarantined) == (7, 5, 2)
    for f in con.execute(
        "select rows_read, rows_loaded, rows_rejected from raw.load_files"
    ).fetchall():
        assert f[0] == f[1] + f[2]


def test_loading_the_same_files_twice_changes_nothing(con, tmp_path):
    write_csv(tmp_path / "payments" / "a.csv", [VALID["payments"], row("payments", amount="-1")])
    load(con, tmp_path, "payments")
    snapshot = [
        con.execute(f"select * from raw.{t} order by all").fetchall()
        for t in ("payments", "rejected_rows", "load_files")
    ]
    load(con, tmp_path, "payments")
    again = [
        con.execute(f"select * from raw.{t} order by all").fetchall()
        for t in ("payments", "rejected_rows", "load_files")
    ]
    assert again == snapshot
    assert len(snapshot[0]) == 1 and len(snapshot[1]) == 1


def test_types_follow_the_contract(con, tmp_path):
    land_minimal(tmp_path)
    load(con, tmp_path, "invoices")
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'invoices'"
        ).fetchall()
    )
    assert types["issued_at"] == "TIMESTAMP"
    assert types["period_start"] == "DATE"
    assert types["total"] == "DECIMAL(18,4)"
    assert con.execute("select total from raw.invoices").fetchall()[0][0] == Decimal("143.55")


def test_a_billing_source_table_loads_from_a_fivetran_duckdb_database(con, tmp_path):
    """--source-database: Fivetran's DuckDB destination holds schema stripe; each table is one
    'file' named <database>:<schema>.<table>, its rows numbered, the contract's rules applied
    (a price in an unknown currency is quarantined), a column outside the contract reported."""
    import duckdb

    from subscriber_warehouse.sources import billing_sources

    fivetran = tmp_path / "fivetran.duckdb"
    db = duckdb.connect(str(fivetran))
    db.execute("create schema stripe")
    db.execute(
        "create table stripe.price as select * from (values "
        "('price_a', 'usd', 4900, 'month', 1, timestamp '2024-01-01 00:00:00', 'x'), "
        "('price_b', 'zzz', 100, 'month', 1, timestamp '2024-01-01 00:00:00', 'y')) "
        "as t(id, currency, unit_amount, recurring_interval, recurring_interval_count, "
        "_fivetran_synced, lookup_secret)"
    )
    db.close()
    price = billing_sources()["stripe"].tables["price"]
    result = load_table(con, tmp_path, price, NOW, database=(fivetran, "stripe"))
    (file,) = result.files
    assert (file.file, file.format) == ("fivetran.duckdb:stripe.price", "duckdb")
    assert (file.rows_read, file.rows_loaded, file.rows_rejected) == (2, 1, 1)
    assert file.unknown_columns == ["lookup_secret"]
    assert con.execute("select id, unit_amount from raw_stripe.price").fetchall() == [
        ("price_a", 4900)
    ]
    assert con.execute(
        "select table_name, source_file, source_row, reason from raw.rejected_rows"
    ).fetchall() == [
        (
            "raw_stripe.price",
            "fivetran.duckdb:stripe.price",
            2,
            "currency: 'zzz' is not an ISO-4217 currency code",
        )
    ]


def test_json_lines_are_typed_by_the_source_contract(con, tmp_path):
    """Chargebee's objects: one JSON object per line, epoch instants, nested arrays kept as JSON
    text, a missing required key a row's reason, a line that is no object quarantined."""
    from subscriber_warehouse.sources import billing_sources

    folder = tmp_path / "chargebee" / "transaction"
    folder.mkdir(parents=True)
    (folder / "t.jsonl").write_text(
        '{"id":"t1","type":"payment","status":"success","amount":1250,"currency_code":"USD",'
        '"date":1704067200,"linked_invoices":[{"invoice_id":"i1"}],"object":"transaction"}\n'
        '{"id":"t2","status":"success","amount":5,"currency_code":"USD"}\n'
        "\n"
        "[1, 2]\n"
        '{"id":"t3","type":"refund","amount":1,"currency_code":"USD","date":"yesterday"}\n',
        encoding="utf-8",
    )
    table = billing_sources()["chargebee"].tables["transaction"]
    result = load_table(con, tmp_path, table, NOW)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (4, 1, 3)
    assert result.files[0].unknown_columns == ["object"]
    assert con.execute(
        "select id, amount, date, linked_invoices from raw_chargebee.transaction"
    ).fetchall() == [("t1", 1250, datetime(2024, 1, 1), '[{"invoice_id":"i1"}]')]
    reasons = con.execute(
        "select source_row, reason from raw.rejected_rows order by source_row"
    ).fetchall()
    assert reasons == [
        (2, "type: required value is missing"),
        (4, "the line is not a JSON object"),
        (5, "date: 'yesterday' is not a UNIX timestamp (whole seconds)"),
    ]
