"""The bad-input catalogue: every kind of broken landing file and exactly what happens to it.

Each case lands one hand-made file into an otherwise valid landing folder and asserts the exact
outcome: a quarantined row (its file, row, column and reason in raw.rejected_rows), a file or a
run that fails with a message naming the file / column / check while the published file stays
byte-identical to the one a prior successful run made, or an accepted file with its exact values.
Loading cases call the loader directly on land_minimal (tests/rows.py); gate and publishing cases
run the whole Dagster job on a copy of one shared baseline (tests/catalogue_helpers.py: three
customers, two plans, a January-May 2024 subscription history, 20 usage events), with
load_time 2024-06-01T00:00:00Z.

| #   | case | landed | expected outcome |
|-----|------|--------|------------------|
| C01 | missing required column | subscription_events file without `occurred_at` | LoadError "subscription_events/subscription_events-0002.csv: missing required column 'occurred_at' (required: …)" |
| C02 | missing required column, whole run | same file, `run_pipeline` | step raw__subscription_events fails with that message; published file byte-identical |
| C03 | extra unknown column | `coupon_code` column | loaded; raw.load_files.unknown_columns = ['coupon_code']; not a raw column |
| C04 | wrong type in an amount | payments amount `143,55` | row 2 quarantined: amount, "amount: '143,55' is not a decimal amount" |
| C05 | currency symbol, thousands separator, exponent | plans unit_amount `$49.00`, `1,200.00`, `4.9e1` | rows 2-4 quarantined: unit_amount "… is not a decimal amount" |
| C06 | fraction in a whole number | quantity `3.5` | quarantined: "quantity: '3.5' is not a whole number" (an integral `3.0` is whole: C51) |
| C07 | unparseable timestamp | occurred_at `Jan 5 2024 10:00` | quarantined: "occurred_at: 'Jan 5 2024 10:00' is not an ISO-8601 timestamp" |
| C08 | timestamps with offsets | `+02:00`, `-05:00`, `+05:30`, `Z`, none | accepted, stored in UTC (08:00, 15:00, 04:30, 10:00, 10:00) |
| C09 | Feb 29 and DST edges | 2024-02-29 / US + EU DST offsets; 2023-02-29 | accepted with exact UTC instants; 2023-02-29 (ts and date) quarantined |
| C10 | event dated in the future | occurred_at load + 1 day, load + 1 day + 1 s | first accepted; second quarantined "… is future-dated (more than one day after the load at 2024-06-01T00:00:00Z)" |
| C11 | empty file | 0 bytes | LoadError "refunds/refunds-0002.csv: the file is empty (no header row)" |
| C12 | header-only file | header, no rows | accepted: 0 read / 0 loaded / 0 rejected; the other file's row still loads |
| C13 | truncated CSV line | last line cut mid-row, no newline | row 2 quarantined: "row has 4 fields, the header has 7 (line 3)", raw record kept |
| C14 | quote characters inside a field | `"said ""no"", left"` and bare `the "best" seat` | accepted verbatim: `said "no", left`, `the "best" seat` |
| C15 | quote that breaks the CSV | `"said" no` | LoadError "refunds/refunds-0002.csv: cannot parse CSV at line 2: ',' expected after '\"'" |
| C16 | non-UTF-8 bytes in a value | Latin-1 `café` | row 1 quarantined: reason, "reason: not valid UTF-8 (line 2)"; raw record shows U+FFFD; row 2 loads |
| C17 | non-UTF-8 header | UTF-16 file | LoadError "refunds/refunds-0002.csv: the header is not valid UTF-8" |
| C18 | Windows line endings and a BOM | BOM + CRLF subscription_events | accepted; first column `event_id` found, no `\\r` in the last column |
| C19 | duplicate column | `customer_id` and `Customer_ID` | LoadError "… column 'customer_id' appears more than once" |
| C20 | unknown enum value | event_type `upgraded` | quarantined: "event_type: unknown value 'upgraded' (expected one of created, …)" |
| C21 | negative payment | amount `-143.55` | quarantined: "amount: -143.55 must be greater than 0" |
| C22 | discount 140 % | discount_pct `140` | quarantined: "discount_pct: 140 must be at most 100" |
| C23 | zero-decimal currency with a fraction | unit_amount `1200.50` JPY | quarantined: "unit_amount: '1200.50' is finer than the minor unit of JPY"; 1200 JPY and 12.345 KWD load |
| C24 | float Parquet amount | float64 0.1 + 0.2 | quarantined: "amount: '0.30000000000000004' has more than 4 decimal places"; 143.55 loads exactly |
| C25 | required table folder missing | no customers/ | LoadError "<landing>/customers: no files for required table 'customers'" |
| C26 | optional table folder missing, first load | no refunds/ | accepted: raw.refunds empty, no files |
| C27 | required folder missing, whole run | no customers/ | step raw__customers fails with that message; published file byte-identical |
| C28 | optional folder missing after a run that had rows | no refunds/ | raw/refunds gate fails: row_count_change (error), ratio 0.0; published byte-identical |
| C29 | subscription event for an unknown customer | customer_id `cus_404` | raw/subscription_events gate fails: references_customer_id (error), sample names file and row; published byte-identical |
| C30 | unknown plan_id | plan_id `enterprise-yearly-usd` | gate fails: references_plan_id (error); published byte-identical |
| C31 | currency not in the FX table | GBP event, no GBP rate | gate fails: fx_coverage (error), sample GBP on 2024-04-01; published byte-identical |
| C32 | canceled before created | canceled 2024-03-01, created 2024-03-05 | gate fails: lifecycle_order (error), sample the canceled event; published byte-identical |
| C33 | 10x row-count drop | usage_events 20 -> 2 rows | raw/usage_events gate fails: row_count_change (error), ratio 0.1; published byte-identical |
| C34 | empty landing folder | nothing | CLI `run` exits 1: "landing folder … is missing or empty"; published byte-identical |
| C35 | late file for an old month | sub_late for cus_2, 2024-02-10 to 2024-03-20 | accepted; Feb MRR 249.30 -> 268.30; audit.restatements 4 rows; restated_months ['2024-02', '2024-03']; summary "restated months: 2024-02, 2024-03" |
| C36 | duplicate event_id, identical (shared run) | evt_4 delivered again | accepted; raw keeps 2 deliveries, the warehouse counts 1 (delivery_count 2, not conflicting); sub_3 MRR 98.00 |
| C37 | duplicate event_id, conflicting (shared run) | evt_7 again with 25 % off | accepted; the later file wins (sub_3 MRR 73.50); conflicting_copies (warn) naming evt_7 |
| C38 | plan versions with equal updated_at (shared run) | basic-monthly-usd again at 21.00 | accepted; the later file wins (one version, 21.00; sub_2 MRR 21.00); conflicting_copies (warn) on raw/plans |
| C39 | offset moving an event into Feb 29 (shared run) | created `2024-03-01T00:30:00+01:00` | accepted; 2024-02-29 23:30 UTC; cus_4 new in Feb 2024 with MRR 49.00 |
| C40 | quality report is strict JSON | a failing gate whose sample has a null decimal | the report parses as strict JSON; the null stays null |
| C41 | timestamp words | occurred_at `epoch`, `-infinity`, `infinity` | quarantined "… is not an ISO-8601 timestamp" |
| C42 | redelivery that reorders a lifecycle | evt_2 (trial_started) again, now after activated | fails lifecycle_order (error): gates judge the copy that wins |
| C43 | corrected redelivery of a bad event | evt_9 for cus_404, then again for cus_1 | passes with conflicting_copies (warn) only: the corrected copy wins |
| C44 | Parquet files of one header, other physical types | payments decimal(18,2) file, then files with a string amount `10.005`, a float64 `0.1 + 0.2`, a string attempted_at `epoch` | each judged by its own values: "… '10.005' is finer than the minor unit of USD", "… '0.30000000000000004' has more than 4 decimal places", "… 'epoch' is not an ISO-8601 timestamp" |
| C45 | lineage columns in a file | Parquet with `_source_file` / `_source_row`, Parquet with `file_row_number` / `_raw_amount`, CSV with `_SOURCE_ROW` / `_source_file` | loaded with the loader's own lineage (each file, rows 1..n); those columns in unknown_columns, never read |
| C46 | glob characters in a file name | `payments-0002*.parquet`, `payments-000?.parquet`, `payments-[0-9].parquet` beside `payments-0002.parquet` | each file read literally: 1 read / 1 loaded each, every payment once |
| C47 | NUL byte, non-UTF-8 Parquet bytes | customer_id `cus_1\\0` (CSV); a BINARY full_name `Jos\\xe9` (Latin-1) and `José` (UTF-8) | quarantined "customer_id: contains a NUL byte", "full_name: not valid UTF-8"; `José` loads as text |
| C48 | exact Parquet decimals of a wider scale | decimal(18,6) amounts `12.500000`, `12.500001`; decimal(38,18) rate `1.084200000000000000` | 12.5 and 1.0842 load; "amount: '12.500001' has more than 4 decimal places" |
| C49 | numbers beyond their column type | amount `1000000000000.00` USD, `99999999999999.9999` CLF and KWD, `100000000000000`; quantity `9223372036854775808`; discount_pct `10000000000` | the first two load; "… is finer than the minor unit of KWD", "… is out of range for DECIMAL(18,4)" / "for BIGINT" / "for DECIMAL(18,8)" |
| C50 | CSV field over 131,072 characters | refunds reason of 200,000 characters | accepted, all 200,000 characters |
| C51 | integral floats in a whole number | Parquet float64 quantity `4.0`, `4.5`; CSV `4.00` | `4.0` and `4.00` load as 4; "quantity: '4.5' is not a whole number" |
| C52 | two byte-order marks | BOM BOM header… | LoadError "refunds/refunds-0002.csv: the file starts with a second byte-order mark (the raw contract's CSV may start with one)" |
| C53 | semicolon-delimited CSV | `"refund_id";"payment_id";…` | LoadError "refunds/refunds-0002.csv: the header is delimited by ';'; the raw contract's CSV is comma-delimited" |
| C54 | impossible UTC offset | occurred_at `+14:00`, `-12:00`, `+25:00`, `+14:30` | the first two stored in UTC; the others quarantined "… is not an ISO-8601 timestamp" |

C36-C39 land their files together in one run (disjoint subscriptions and plans) to keep the
file's run time down; every other case has its own landing folder. C40-C43 are product bugs found
while writing the catalogue, since fixed (C42 and C43 call the raw gate directly on a
loaded baseline: the gate's verdict is the whole point, and it takes seconds instead of a run).
C44-C54 are loader defects an adversarial pass found, since fixed.
"""  # noqa: E501 (the case table is quoted as is)

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from catalogue_helpers import (
    BASELINE_EVENTS,
    LOAD_TIME,
    NOW,
    Case,
    build_baseline,
    copy_baseline,
    failed_gate,
    land_baseline,
)
from rows import VALID, land_minimal, row, write_csv

from orchestration.quality_report import report_path
from quality.checks import raw_suite
from quality.gx_runner import run_gate
from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load import LoadError, connect, load_table

CLI = str(Path(sys.executable).parent / "subscriber-warehouse")
EVENTS = "subscription_events"
REQUIRED_EVENT_COLUMNS = (
    "event_id, subscription_id, customer_id, event_type, status, occurred_at, plan_id, quantity"
)


# --- loading cases: the loader on land_minimal plus one bad file (milliseconds) ---------------


@pytest.fixture
def landing(tmp_path) -> Path:
    return land_minimal(tmp_path / "landing")


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "wh.duckdb")
    yield c
    c.close()


def load(con, landing: Path, table: str):
    return load_table(con, landing, table, NOW)


def accounting(result) -> list[tuple]:
    return [(f.file, f.rows_read, f.rows_loaded, f.rows_rejected) for f in result.files]


def rejected(con, table: str) -> list[tuple]:
    return con.execute(
        "select source_file, source_row, column_name, reason from raw.rejected_rows "
        "where table_name = ? order by source_file, source_row",
        [table],
    ).fetchall()


def second_file(landing: Path, table: str, rows: list[dict], **kwargs) -> str:
    write_csv(landing / table / f"{table}-0002.csv", rows, **kwargs)
    return f"{table}/{table}-0002.csv"


def raw_bytes(landing: Path, table: str, data: bytes) -> str:
    (landing / table / f"{table}-0002.csv").write_bytes(data)
    return f"{table}/{table}-0002.csv"


def header(table: str) -> bytes:
    return ",".join(TABLES[table].column_names).encode()


def test_c01_missing_required_column_fails_the_file_naming_file_and_column(con, landing):
    columns = [c for c in TABLES[EVENTS].column_names if c != "occurred_at"]
    name = second_file(landing, EVENTS, [row(EVENTS, event_id="evt_2")], header=columns)
    with pytest.raises(LoadError) as failed:
        load(con, landing, EVENTS)
    assert str(failed.value) == (
        f"{name}: missing required column 'occurred_at' (required: {REQUIRED_EVENT_COLUMNS})"
    )


def test_c03_extra_unknown_column_is_loaded_without_it_and_reported(con, landing):
    name = second_file(landing, EVENTS, [{**row(EVENTS, event_id="evt_2"), "coupon_code": "X1"}])
    result = load(con, landing, EVENTS)
    assert accounting(result) == [
        (f"{EVENTS}/{EVENTS}-0001.csv", 1, 1, 0),
        (name, 1, 1, 0),
    ]
    assert [f.unknown_columns for f in result.files] == [[], ["coupon_code"]]
    assert con.execute(
        "select source_file, unknown_columns from raw.load_files order by source_file"
    ).fetchall() == [(f"{EVENTS}/{EVENTS}-0001.csv", []), (name, ["coupon_code"])]
    columns = [r[0] for r in con.execute(f"describe raw.{EVENTS}").fetchall()]
    assert columns == [*TABLES[EVENTS].column_names, "_source_file", "_source_row"]


def test_c04_wrong_type_in_an_amount_is_quarantined(con, landing):
    name = second_file(
        landing, "payments", [row("payments", payment_id="pay_2"), row("payments", amount="143,55")]
    )
    result = load(con, landing, "payments")
    assert accounting(result)[1] == (name, 2, 1, 1)
    assert rejected(con, "payments") == [
        (name, 2, "amount", "amount: '143,55' is not a decimal amount")
    ]
    record = con.execute("select raw_record from raw.rejected_rows").fetchall()[0][0]
    assert json.loads(record)["amount"] == "143,55"


def test_c05_currency_symbol_thousands_separator_and_exponent_are_quarantined(con, landing):
    amounts = ["49.00", "$49.00", "1,200.00", "4.9e1"]
    name = second_file(
        landing,
        "plans",
        [row("plans", plan_id=f"p{i}", unit_amount=a) for i, a in enumerate(amounts)],
    )
    result = load(con, landing, "plans")
    assert accounting(result)[1] == (name, 4, 1, 3)
    assert rejected(con, "plans") == [
        (name, 2, "unit_amount", "unit_amount: '$49.00' is not a decimal amount"),
        (name, 3, "unit_amount", "unit_amount: '1,200.00' is not a decimal amount"),
        (name, 4, "unit_amount", "unit_amount: '4.9e1' is not a decimal amount"),
    ]


def test_c06_decimal_in_a_whole_number_is_quarantined(con, landing):
    name = second_file(landing, EVENTS, [row(EVENTS, event_id="evt_2", quantity="3.5")])
    load(con, landing, EVENTS)
    assert rejected(con, EVENTS) == [(name, 1, "quantity", "quantity: '3.5' is not a whole number")]


def test_c07_unparseable_timestamp_is_quarantined(con, landing):
    name = second_file(
        landing, EVENTS, [row(EVENTS, event_id="evt_2", occurred_at="Jan 5 2024 10:00")]
    )
    result = load(con, landing, EVENTS)
    assert accounting(result)[1] == (name, 1, 0, 1)
    assert rejected(con, EVENTS) == [
        (name, 1, "occurred_at", "occurred_at: 'Jan 5 2024 10:00' is not an ISO-8601 timestamp")
    ]


def event_times(con) -> list[tuple[str, str]]:
    return [
        (event_id, ts.isoformat())
        for event_id, ts in con.execute(
            f"select event_id, occurred_at from raw.{EVENTS} "
            "where _source_file like '%0002.csv' order by _source_row"
        ).fetchall()
    ]


def test_c08_timestamps_with_offsets_are_stored_in_utc(con, landing):
    times = [
        "2024-01-05T10:00:00+02:00",
        "2024-01-05T10:00:00-05:00",
        "2024-01-05T10:00:00+05:30",
        "2024-01-05T10:00:00Z",
        "2024-01-05T10:00:00",
    ]
    second_file(
        landing,
        EVENTS,
        [row(EVENTS, event_id=f"evt_{i}", occurred_at=t) for i, t in enumerate(times, 2)],
    )
    assert accounting(load(con, landing, EVENTS))[1][1:] == (5, 5, 0)
    assert event_times(con) == [
        ("evt_2", "2024-01-05T08:00:00"),
        ("evt_3", "2024-01-05T15:00:00"),
        ("evt_4", "2024-01-05T04:30:00"),
        ("evt_5", "2024-01-05T10:00:00"),
        ("evt_6", "2024-01-05T10:00:00"),
    ]


def test_c09_feb_29_and_dst_edges(con, landing):
    times = [
        "2024-02-29T23:30:00-05:00",  # leap day, local: already March 1 in UTC
        "2024-03-01T00:30:00+01:00",  # March 1, local: still leap day in UTC
        "2024-03-10T01:59:59-08:00",  # US: the last second before DST begins
        "2024-03-10T03:00:00-07:00",  # US: the first second after it
        "2024-03-31T03:30:00+02:00",  # EU: an hour after clocks went forward
        "2023-11-05T01:30:00-04:00",  # US: the repeated hour, first pass
        "2023-11-05T01:30:00-05:00",  # US: the repeated hour, second pass
        "2023-02-29T12:00:00Z",  # not a leap year
    ]
    name = second_file(
        landing,
        EVENTS,
        [row(EVENTS, event_id=f"evt_{i}", occurred_at=t) for i, t in enumerate(times, 2)],
    )
    load(con, landing, EVENTS)
    assert event_times(con) == [
        ("evt_2", "2024-03-01T04:30:00"),
        ("evt_3", "2024-02-29T23:30:00"),
        ("evt_4", "2024-03-10T09:59:59"),
        ("evt_5", "2024-03-10T10:00:00"),
        ("evt_6", "2024-03-31T01:30:00"),
        ("evt_7", "2023-11-05T05:30:00"),
        ("evt_8", "2023-11-05T06:30:00"),
    ]
    assert rejected(con, EVENTS) == [
        (name, 8, "occurred_at", "occurred_at: '2023-02-29T12:00:00Z' is not an ISO-8601 timestamp")
    ]
    # dates follow the same calendar
    invoices = second_file(
        landing,
        "invoices",
        [
            row("invoices", invoice_id="inv_2", period_start="2024-02-29", period_end="2024-03-28"),
            row("invoices", invoice_id="inv_3", period_start="2023-02-29", period_end="2023-03-28"),
        ],
    )
    load(con, landing, "invoices")
    assert con.execute(
        "select invoice_id, period_start from raw.invoices where invoice_id = 'inv_2'"
    ).fetchall() == [("inv_2", datetime(2024, 2, 29).date())]
    assert rejected(con, "invoices") == [
        (invoices, 2, "period_start", "period_start: '2023-02-29' is not a YYYY-MM-DD date")
    ]


def test_c10_event_dated_in_the_future_is_quarantined_past_one_day(con, landing):
    name = second_file(
        landing,
        EVENTS,
        [
            row(EVENTS, event_id="evt_2", occurred_at="2024-06-02T00:00:00Z"),
            row(EVENTS, event_id="evt_3", occurred_at="2024-06-02T00:00:01Z"),
        ],
    )
    load(con, landing, EVENTS)
    assert event_times(con) == [("evt_2", "2024-06-02T00:00:00")]
    assert rejected(con, EVENTS) == [
        (
            name,
            2,
            "occurred_at",
            "occurred_at: 2024-06-02T00:00:01Z is future-dated (more than one day after the "
            "load at 2024-06-01T00:00:00Z)",
        )
    ]


def test_c11_empty_file_fails_naming_it(con, landing):
    name = raw_bytes(landing, "refunds", b"")
    with pytest.raises(LoadError) as failed:
        load(con, landing, "refunds")
    assert str(failed.value) == f"{name}: the file is empty (no header row)"


def test_c12_header_only_file_loads_nothing_and_is_accounted(con, landing):
    name = raw_bytes(landing, "refunds", header("refunds") + b"\r\n")
    result = load(con, landing, "refunds")
    assert accounting(result) == [("refunds/refunds-0001.csv", 1, 1, 0), (name, 0, 0, 0)]
    assert con.execute("select refund_id, _source_file from raw.refunds").fetchall() == [
        ("ref_1", "refunds/refunds-0001.csv")
    ]
    assert rejected(con, "refunds") == []


def test_c13_truncated_last_line_is_quarantined_with_its_line(con, landing):
    name = raw_bytes(
        landing,
        "refunds",
        header("refunds")
        + b"\nref_2,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,x\nref_3,pay_1,cus_1,2024-01-2",
    )
    result = load(con, landing, "refunds")
    assert accounting(result)[1] == (name, 2, 1, 1)
    assert rejected(con, "refunds") == [
        (name, 2, None, "row has 4 fields, the header has 7 (line 3)")
    ]
    record = con.execute("select raw_record from raw.rejected_rows").fetchall()[0][0]
    assert json.loads(record) == ["ref_3", "pay_1", "cus_1", "2024-01-2"]


def test_c14_quote_characters_inside_a_field_are_kept(con, landing):
    raw_bytes(
        landing,
        "refunds",
        header("refunds")
        + b'\nref_2,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,"said ""no"", left"'
        + b'\nref_3,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,the "best" seat\n',
    )
    assert accounting(load(con, landing, "refunds"))[1][1:] == (2, 2, 0)
    assert con.execute(
        "select refund_id, reason from raw.refunds where refund_id <> 'ref_1' order by refund_id"
    ).fetchall() == [("ref_2", 'said "no", left'), ("ref_3", 'the "best" seat')]


def test_c15_a_quote_that_breaks_the_csv_fails_naming_file_and_line(con, landing):
    name = raw_bytes(
        landing,
        "refunds",
        header("refunds") + b'\nref_2,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,"said" no\n',
    )
    with pytest.raises(LoadError) as failed:
        load(con, landing, "refunds")
    assert str(failed.value) == f"{name}: cannot parse CSV at line 2: ',' expected after '\"'"


def test_c16_non_utf8_bytes_quarantine_the_row_naming_the_column(con, landing):
    name = raw_bytes(
        landing,
        "refunds",
        header("refunds")
        + b"\nref_2,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,caf\xe9"
        + b"\nref_3,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,cafe\n",
    )
    result = load(con, landing, "refunds")
    assert accounting(result)[1] == (name, 2, 1, 1)
    assert rejected(con, "refunds") == [(name, 1, "reason", "reason: not valid UTF-8 (line 2)")]
    record = con.execute("select raw_record from raw.rejected_rows").fetchall()[0][0]
    assert json.loads(record)[-1] == "caf\ufffd"
    assert con.execute("select reason from raw.refunds where refund_id = 'ref_3'").fetchall() == [
        ("cafe",)
    ]


def test_c17_non_utf8_header_fails_the_file(con, landing):
    text = header("refunds").decode() + "\nref_2,pay_1,cus_1,2024-01-20T09:00:00Z,1.00,USD,x\n"
    name = raw_bytes(landing, "refunds", text.encode("utf-16"))
    with pytest.raises(LoadError) as failed:
        load(con, landing, "refunds")
    assert str(failed.value) == f"{name}: the header is not valid UTF-8"


def test_c18_windows_line_endings_and_a_bom_are_accepted(con, landing):
    values = row(EVENTS, event_id="evt_2", cancel_reason="")
    line = ",".join(values[c] for c in TABLES[EVENTS].column_names).encode()
    name = raw_bytes(landing, EVENTS, b"\xef\xbb\xbf" + header(EVENTS) + b"\r\n" + line + b"\r\n")
    result = load(con, landing, EVENTS)
    assert accounting(result)[1] == (name, 1, 1, 0)
    assert result.files[1].unknown_columns == []
    assert con.execute(
        f"select event_id, occurred_at, quantity, discount_pct, cancel_reason from raw.{EVENTS} "
        "where _source_file = ?",
        [name],
    ).fetchall() == [("evt_2", datetime(2024, 1, 5, 10), 3, Decimal("10"), None)]


def test_c19_a_column_named_twice_fails_the_file(con, landing):
    columns = [*TABLES["refunds"].column_names, "Customer_ID"]
    name = second_file(
        landing, "refunds", [{**VALID["refunds"], "Customer_ID": "cus_1"}], header=columns
    )
    with pytest.raises(LoadError) as failed:
        load(con, landing, "refunds")
    assert str(failed.value) == f"{name}: column 'customer_id' appears more than once"


def test_c20_unknown_enum_value_is_quarantined(con, landing):
    name = second_file(landing, EVENTS, [row(EVENTS, event_id="evt_2", event_type="upgraded")])
    load(con, landing, EVENTS)
    assert rejected(con, EVENTS) == [
        (
            name,
            1,
            "event_type",
            "event_type: unknown value 'upgraded' (expected one of created, trial_started, "
            "activated, plan_changed, quantity_changed, discount_changed, paused, resumed, "
            "canceled, reactivated)",
        )
    ]


def test_c21_negative_payment_is_quarantined(con, landing):
    name = second_file(landing, "payments", [row("payments", payment_id="pay_2", amount="-143.55")])
    result = load(con, landing, "payments")
    assert accounting(result)[1] == (name, 1, 0, 1)
    assert rejected(con, "payments") == [
        (name, 1, "amount", "amount: -143.55 must be greater than 0")
    ]


def test_c22_discount_of_140_percent_is_quarantined(con, landing):
    name = second_file(landing, EVENTS, [row(EVENTS, event_id="evt_2", discount_pct="140")])
    load(con, landing, EVENTS)
    assert rejected(con, EVENTS) == [
        (name, 1, "discount_pct", "discount_pct: 140 must be at most 100")
    ]


def test_c23_zero_decimal_currency_with_a_fraction_is_quarantined(con, landing):
    name = second_file(
        landing,
        EVENTS,
        [
            row(EVENTS, event_id="evt_2", unit_amount="1200.50", currency="JPY"),
            row(EVENTS, event_id="evt_3", unit_amount="1200", currency="JPY"),
            row(EVENTS, event_id="evt_4", unit_amount="12.345", currency="KWD"),  # 3 decimals
        ],
    )
    load(con, landing, EVENTS)
    assert rejected(con, EVENTS) == [
        (name, 1, "unit_amount", "unit_amount: '1200.50' is finer than the minor unit of JPY")
    ]
    assert con.execute(
        f"select event_id, unit_amount, currency from raw.{EVENTS} where _source_file = ? "
        "order by event_id",
        [name],
    ).fetchall() == [("evt_3", Decimal("1200"), "JPY"), ("evt_4", Decimal("12.345"), "KWD")]


def test_c24_float_parquet_amount_with_binary_noise_is_quarantined(con, landing):
    rows = [row("payments", payment_id="pay_2"), row("payments", payment_id="pay_3")]
    table = {c: pa.array([r[c] or None for r in rows], pa.string()) for c in rows[0]}
    table["amount"] = pa.array([143.55, 0.1 + 0.2], pa.float64())
    pq.write_table(pa.table(table), landing / "payments" / "payments-0002.parquet")
    result = load(con, landing, "payments")
    assert accounting(result)[1] == ("payments/payments-0002.parquet", 2, 1, 1)
    assert rejected(con, "payments") == [
        (
            "payments/payments-0002.parquet",
            2,
            "amount",
            "amount: '0.30000000000000004' has more than 4 decimal places",
        )
    ]
    assert con.execute(
        "select payment_id, amount from raw.payments where payment_id = 'pay_2'"
    ).fetchall() == [("pay_2", Decimal("143.55"))]


def test_c25_required_table_folder_missing_fails_naming_the_folder(con, landing):
    shutil.rmtree(landing / "customers")
    with pytest.raises(LoadError) as failed:
        load(con, landing, "customers")
    assert str(failed.value) == f"{landing / 'customers'}: no files for required table 'customers'"


def test_c26_optional_table_folder_missing_gives_an_empty_table(con, landing):
    shutil.rmtree(landing / "refunds")
    result = load(con, landing, "refunds")
    assert (result.files, result.rows_read) == ([], 0)
    assert con.execute("select count(*) from raw.refunds").fetchall() == [(0,)]
    assert rejected(con, "refunds") == []


def test_c41_timestamp_words_are_not_iso_8601(con, landing):
    words = ["epoch", "-infinity", "infinity"]
    name = second_file(
        landing,
        EVENTS,
        [row(EVENTS, event_id=f"evt_{i}", occurred_at=w) for i, w in enumerate(words, 2)],
    )
    load(con, landing, EVENTS)
    assert rejected(con, EVENTS) == [
        (name, i, "occurred_at", f"occurred_at: '{w}' is not an ISO-8601 timestamp")
        for i, w in enumerate(words, 1)
    ]


def parquet_file(landing: Path, table: str, name: str, rows: list[dict], **typed) -> str:
    """rows as a Parquet file of string columns, but for the `typed` arrays (pyarrow), which
    replace a column or add one; its name as the loader records it."""
    columns = {c: pa.array([r[c] or None for r in rows], pa.string()) for c in rows[0]}
    pq.write_table(pa.table({**columns, **typed}), landing / table / name)
    return f"{table}/{name}"


def test_c44_parquet_files_of_other_physical_types_are_judged_by_their_own_values(con, landing):
    pay = [row("payments", payment_id="pay_2")]
    money = pa.array([Decimal("143.55")], pa.decimal128(18, 2))
    instant = pa.array([datetime(2024, 1, 5, 10, 5)], pa.timestamp("us"))
    typed = parquet_file(
        landing, "payments", "payments-0002.parquet", pay, amount=money, attempted_at=instant
    )
    text = parquet_file(
        landing,
        "payments",
        "payments-0003.parquet",
        pay,
        amount=pa.array(["10.005"]),
        attempted_at=instant,
    )
    double = parquet_file(
        landing,
        "payments",
        "payments-0004.parquet",
        pay,
        amount=pa.array([0.1 + 0.2]),
        attempted_at=instant,
    )
    word = parquet_file(
        landing,
        "payments",
        "payments-0005.parquet",
        pay,
        amount=money,
        attempted_at=pa.array(["epoch"]),
    )
    result = load(con, landing, "payments")
    assert accounting(result)[1:] == [
        (typed, 1, 1, 0),
        (text, 1, 0, 1),
        (double, 1, 0, 1),
        (word, 1, 0, 1),
    ]
    assert rejected(con, "payments") == [
        (text, 1, "amount", "amount: '10.005' is finer than the minor unit of USD"),
        (double, 1, "amount", "amount: '0.30000000000000004' has more than 4 decimal places"),
        (word, 1, "attempted_at", "attempted_at: 'epoch' is not an ISO-8601 timestamp"),
    ]


def test_c45_lineage_columns_in_a_file_are_unknown_columns_never_read(con, landing):
    refunds = [row("refunds", refund_id="ref_2"), row("refunds", refund_id="ref_3")]
    lineage = parquet_file(
        landing,
        "refunds",
        "refunds-0002.parquet",
        refunds,
        _source_file=pa.array(["refunds/refunds-0001.csv"] * 2),
        _source_row=pa.array([1, 1]),
    )
    row_number = parquet_file(
        landing,
        "refunds",
        "refunds-0003.parquet",
        [row("refunds", refund_id="ref_4")],
        file_row_number=pa.array([41]),
        _raw_amount=pa.array(["-1"]),
    )
    columns = [*TABLES["refunds"].column_names, "_SOURCE_ROW", "_source_file"]
    csv_name = second_file(
        landing,
        "refunds",
        [{**row("refunds", refund_id="ref_5"), "_SOURCE_ROW": "9", "_source_file": "elsewhere"}],
        header=columns,
    )
    result = load(con, landing, "refunds")
    assert accounting(result) == [
        ("refunds/refunds-0001.csv", 1, 1, 0),
        (csv_name, 1, 1, 0),
        (lineage, 2, 2, 0),
        (row_number, 1, 1, 0),
    ]
    assert [f.unknown_columns for f in result.files] == [
        [],
        ["_SOURCE_ROW", "_source_file"],
        ["_source_file", "_source_row"],
        ["file_row_number", "_raw_amount"],
    ]
    assert con.execute(
        "select refund_id, amount, _source_file, _source_row from raw.refunds order by refund_id"
    ).fetchall() == [
        ("ref_1", Decimal("47.85"), "refunds/refunds-0001.csv", 1),
        ("ref_2", Decimal("47.85"), lineage, 1),
        ("ref_3", Decimal("47.85"), lineage, 2),
        ("ref_4", Decimal("47.85"), row_number, 1),
        ("ref_5", Decimal("47.85"), csv_name, 1),
    ]


def test_c46_glob_characters_in_a_file_name_are_taken_literally(con, landing):
    names = [
        parquet_file(landing, "payments", name, [row("payments", payment_id=payment)])
        for name, payment in [
            ("payments-0002.parquet", "pay_2"),
            ("payments-0002*.parquet", "pay_3"),
            ("payments-000?.parquet", "pay_4"),
            ("payments-[0-9].parquet", "pay_5"),
        ]
    ]
    result = load(con, landing, "payments")
    assert sorted(accounting(result)[1:]) == sorted((name, 1, 1, 0) for name in names)
    assert con.execute(
        "select payment_id, _source_file from raw.payments order by payment_id"
    ).fetchall() == [
        ("pay_1", "payments/payments-0001.csv"),
        *zip(["pay_2", "pay_3", "pay_4", "pay_5"], names, strict=True),
    ]


def test_c47_nul_bytes_and_non_utf8_parquet_bytes_are_quarantined(con, landing):
    nul = second_file(landing, "customers", [row("customers", customer_id="cus_1\x00")])
    names = pa.array(["Jos\xe9".encode("latin-1"), "José".encode()], pa.binary())
    binary = parquet_file(
        landing,
        "customers",
        "customers-0003.parquet",
        [row("customers", customer_id="cus_2"), row("customers", customer_id="cus_3")],
        full_name=names,
    )
    result = load(con, landing, "customers")
    assert accounting(result)[1:] == [(nul, 1, 0, 1), (binary, 2, 1, 1)]
    assert rejected(con, "customers") == [
        (nul, 1, "customer_id", "customer_id: contains a NUL byte"),
        (binary, 1, "full_name", "full_name: not valid UTF-8"),
    ]
    assert con.execute(
        "select customer_id, full_name from raw.customers order by customer_id"
    ).fetchall() == [("cus_1", "Ana Silva"), ("cus_3", "José")]


def test_c48_exact_parquet_decimals_of_a_wider_scale_are_judged_by_value(con, landing):
    amounts = pa.array([Decimal("12.500000"), Decimal("12.500001")], pa.decimal128(18, 6))
    pay = parquet_file(
        landing,
        "payments",
        "payments-0002.parquet",
        [row("payments", payment_id="pay_2"), row("payments", payment_id="pay_3")],
        amount=amounts,
    )
    rates = pa.array([Decimal("1.084200000000000000")], pa.decimal128(38, 18))
    fx = parquet_file(
        landing, "fx_rates", "fx_rates-0002.parquet", [row("fx_rates")], rate_to_usd=rates
    )
    assert accounting(load(con, landing, "payments"))[1] == (pay, 2, 1, 1)
    assert rejected(con, "payments") == [
        (pay, 2, "amount", "amount: '12.500001' has more than 4 decimal places")
    ]
    assert accounting(load(con, landing, "fx_rates"))[1] == (fx, 1, 1, 0)
    assert con.execute(
        "select payment_id, amount from raw.payments where payment_id = 'pay_2'"
    ).fetchall() == [("pay_2", Decimal("12.5"))]
    assert con.execute(
        "select rate_to_usd from raw.fx_rates where _source_file = ?", [fx]
    ).fetchall() == [(Decimal("1.0842"),)]


def test_c49_numbers_beyond_their_column_type_are_quarantined_as_out_of_range(con, landing):
    pay = second_file(
        landing,
        "payments",
        [
            row("payments", payment_id="pay_2", amount="1000000000000.00"),
            row("payments", payment_id="pay_3", amount="99999999999999.9999", currency="CLF"),
            row("payments", payment_id="pay_4", amount="99999999999999.9999", currency="KWD"),
            row("payments", payment_id="pay_5", amount="100000000000000"),
        ],
    )
    result = load(con, landing, "payments")
    assert accounting(result)[1] == (pay, 4, 2, 2)
    assert rejected(con, "payments") == [
        (pay, 3, "amount", "amount: '99999999999999.9999' is finer than the minor unit of KWD"),
        (pay, 4, "amount", "amount: '100000000000000' is out of range for DECIMAL(18,4)"),
    ]
    events = second_file(
        landing,
        EVENTS,
        [
            row(EVENTS, event_id="evt_2", quantity="9223372036854775808"),
            row(EVENTS, event_id="evt_3", discount_pct="10000000000"),
        ],
    )
    load(con, landing, EVENTS)
    assert rejected(con, EVENTS) == [
        (events, 1, "quantity", "quantity: '9223372036854775808' is out of range for BIGINT"),
        (
            events,
            2,
            "discount_pct",
            "discount_pct: '10000000000' is out of range for DECIMAL(18,8)",
        ),
    ]


def test_c50_a_csv_field_longer_than_131072_characters_is_accepted(con, landing):
    long = "x" * 200_000
    name = second_file(landing, "refunds", [row("refunds", refund_id="ref_2", reason=long)])
    assert accounting(load(con, landing, "refunds"))[1] == (name, 1, 1, 0)
    assert con.execute(
        "select length(reason) from raw.refunds where refund_id = 'ref_2'"
    ).fetchall() == [(200_000,)]


def test_c51_integral_floats_are_whole_numbers(con, landing):
    events = [row(EVENTS, event_id=f"evt_{i}") for i in (2, 3)]
    floats = parquet_file(
        landing, EVENTS, f"{EVENTS}-0002.parquet", events, quantity=pa.array([4.0, 4.5])
    )
    text = second_file(landing, EVENTS, [row(EVENTS, event_id="evt_4", quantity="4.00")])
    assert accounting(load(con, landing, EVENTS))[1:] == [(text, 1, 1, 0), (floats, 2, 1, 1)]
    assert rejected(con, EVENTS) == [
        (floats, 2, "quantity", "quantity: '4.5' is not a whole number")
    ]
    assert con.execute(
        f"select event_id, quantity from raw.{EVENTS} where event_id <> 'evt_1' order by event_id"
    ).fetchall() == [("evt_2", 4), ("evt_4", 4)]


def test_c52_a_second_byte_order_mark_fails_the_file_saying_so(con, landing):
    values = ",".join(VALID["refunds"].values()).encode()
    name = raw_bytes(landing, "refunds", b"\xef\xbb\xbf" * 2 + header("refunds") + b"\n" + values)
    with pytest.raises(LoadError) as failed:
        load(con, landing, "refunds")
    assert str(failed.value) == (
        f"{name}: the file starts with a second byte-order mark "
        "(the raw contract's CSV may start with one)"
    )


def test_c53_a_semicolon_delimited_csv_fails_the_file_saying_so(con, landing):
    text = ";".join(f'"{c}"' for c in VALID["refunds"]) + "\n"
    text += ";".join(f'"{v}"' for v in VALID["refunds"].values()) + "\n"
    name = raw_bytes(landing, "refunds", text.encode())
    with pytest.raises(LoadError) as failed:
        load(con, landing, "refunds")
    assert str(failed.value) == (
        f"{name}: the header is delimited by ';'; the raw contract's CSV is comma-delimited"
    )


def test_c54_an_impossible_utc_offset_is_not_iso_8601(con, landing):
    times = [
        "2024-01-05T10:00:00+14:00",
        "2024-01-05T10:00:00-12:00",
        "2024-01-05T10:00:00+25:00",
        "2024-01-05T10:00:00+14:30",
    ]
    name = second_file(
        landing,
        EVENTS,
        [row(EVENTS, event_id=f"evt_{i}", occurred_at=t) for i, t in enumerate(times, 2)],
    )
    load(con, landing, EVENTS)
    assert event_times(con) == [("evt_2", "2024-01-04T20:00:00"), ("evt_3", "2024-01-05T22:00:00")]
    assert rejected(con, EVENTS) == [
        (name, i, "occurred_at", f"occurred_at: '{t}' is not an ISO-8601 timestamp")
        for i, t in [(3, times[2]), (4, times[3])]
    ]


def raw_gate_failures(landing: Path, db: Path, table: str) -> list[tuple[str, str]]:
    """Load every table of `landing` and run table's raw gate; its failed checks."""
    c = connect(db)
    try:
        for name in TABLES:
            load_table(c, landing, name, NOW)
        report = run_gate(f"raw.{table}", raw_suite(table, "2024-06-01 00:00:00", {}), c)
    finally:
        c.close()
    return [(f.check, f.severity) for f in report.failures]


def test_c42_a_redelivery_that_reorders_a_lifecycle_fails_lifecycle_order(tmp_path):
    landing = land_baseline(tmp_path / "landing")
    [trial] = [r for r in BASELINE_EVENTS if r["event_id"] == "evt_2"]
    # the later copy wins: sub_2 now begins with evt_3 'activated' on 2024-02-03
    write_csv(
        landing / EVENTS / f"{EVENTS}-0002.csv", [{**trial, "occurred_at": "2024-02-10T08:00:00Z"}]
    )
    failures = raw_gate_failures(landing, tmp_path / "wh.duckdb", EVENTS)
    assert failures == [("conflicting_copies", "warn"), ("lifecycle_order", "error")]


def test_c43_a_corrected_redelivery_clears_the_reference_failure(tmp_path):
    landing = land_baseline(tmp_path / "landing")
    bad = row(EVENTS, event_id="evt_9", subscription_id="sub_9", customer_id="cus_404")
    write_csv(landing / EVENTS / f"{EVENTS}-0002.csv", [bad])
    write_csv(landing / EVENTS / f"{EVENTS}-0003.csv", [{**bad, "customer_id": "cus_1"}])
    failures = raw_gate_failures(landing, tmp_path / "wh.duckdb", EVENTS)
    assert failures == [("conflicting_copies", "warn")]


# --- gate and publishing cases: the whole Dagster job on a copy of one baseline ----------------


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The published file (and working database) of one successful run on the baseline landing."""
    return build_baseline(tmp_path_factory.mktemp("catalogue-baseline"))


@pytest.fixture
def case(baseline, tmp_path_factory) -> Case:
    # one folder for every case, emptied first: dbt parses the whole project again when the
    # warehouse's path changes (its profile holds the path) and reuses its parse at the same one
    root = tmp_path_factory.getbasetemp() / "catalogue-case"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    return copy_baseline(baseline, root)


GATE_FAILED = "1 blocking asset check failed with ERROR severity:\n{asset}: gx_raw_contract"


def assert_gate_failed(case: Case, failed, table: str, checks: str) -> dict:
    """The run failed at exactly table's raw gate, naming `checks`; nothing was published."""
    asset = f"raw/{table}"
    assert failed.errors == [
        (f"raw__{table}_gx_raw_contract", GATE_FAILED.format(asset=asset)),
    ]
    headline, gate_line, *located = failed.quality.splitlines()
    # the raw loads' 15 gates ran, of all the run's checks
    assert re.fullmatch(
        r"quality: 15 of \d{3} checks ran before the run failed, 1 failed, 0 warnings", headline
    )
    assert gate_line == f"  error {asset} gx_raw_contract: {checks}"
    assert all("first offending row" in line for line in located)
    assert case.unchanged
    report = case.quality()
    assert (report["success"], report["restated_months"]) == (False, [])
    gate = failed_gate(report, asset)
    assert (gate["severity"], gate["failed_checks"]) == ("ERROR", checks)
    [failure] = gate["failures"]
    return failure


def new_events(case: Case, rows: list[dict]) -> str:
    write_csv(case.landing / EVENTS / f"{EVENTS}-0002.csv", rows)
    return f"{EVENTS}/{EVENTS}-0002.csv"


def sample_of(failure: dict, *columns: str) -> list[dict]:
    return [{c: r[c] for c in columns} for r in failure["sample"]]


@pytest.mark.slow
def test_c02_missing_required_column_fails_the_run_and_publishes_nothing(case):
    columns = [c for c in TABLES[EVENTS].column_names if c != "occurred_at"]
    write_csv(
        case.landing / EVENTS / f"{EVENTS}-0002.csv",
        [row(EVENTS, event_id="evt_9")],
        header=columns,
    )
    failed = case.run_failing()
    assert failed.errors == [
        (
            f"raw__{EVENTS}",
            f"{EVENTS}/{EVENTS}-0002.csv: missing required column 'occurred_at' "
            f"(required: {REQUIRED_EVENT_COLUMNS})",
        )
    ]
    assert case.unchanged


@pytest.mark.slow
def test_c27_required_folder_missing_fails_the_run_and_publishes_nothing(case):
    shutil.rmtree(case.landing / "customers")
    failed = case.run_failing()
    assert failed.errors == [
        (
            "raw__customers",
            f"{case.landing.resolve() / 'customers'}: no files for required table 'customers'",
        )
    ]
    assert case.unchanged


@pytest.mark.slow
def test_c28_optional_folder_missing_after_a_run_with_rows_fails_row_count_change(case):
    shutil.rmtree(case.landing / "refunds")
    failure = assert_gate_failed(case, case.run_failing(), "refunds", "row_count_change (error)")
    assert (failure["check"], failure["column"], failure["sample"]) == (
        "row_count_change",
        "ratio",
        [0.0],
    )


@pytest.fixture(scope="module")
def unknown_customer(baseline, tmp_path_factory):
    case = copy_baseline(baseline, tmp_path_factory.mktemp("unknown-customer"))
    name = new_events(
        case,
        [row(EVENTS, event_id="evt_9", subscription_id="sub_9", customer_id="cus_404")],
    )
    return case, case.run_failing(), name


@pytest.mark.slow
def test_c29_subscription_event_for_an_unknown_customer_fails_the_gate(unknown_customer):
    case, failed, name = unknown_customer
    failure = assert_gate_failed(case, failed, EVENTS, "references_customer_id (error)")
    assert (failure["check"], failure["unexpected_count"]) == ("references_customer_id", 1)
    assert sample_of(failure, "event_id", "customer_id", "_source_file", "_source_row") == [
        {"event_id": "evt_9", "customer_id": "cus_404", "_source_file": name, "_source_row": 1}
    ]


@pytest.mark.slow
def test_c40_quality_report_is_strict_json(unknown_customer):
    case, _, _ = unknown_customer

    def reject(constant):
        raise ValueError(f"{constant} is not JSON")

    report = json.loads(report_path(case.published).read_text(), parse_constant=reject)
    [failure] = failed_gate(report, f"raw/{EVENTS}")["failures"]
    assert failure["sample"][0]["unit_amount"] is None


@pytest.mark.slow
def test_c30_unknown_plan_id_fails_the_gate(case):
    name = new_events(
        case,
        [
            row(
                EVENTS,
                event_id="evt_9",
                subscription_id="sub_9",
                plan_id="enterprise-yearly-usd",
            )
        ],
    )
    failure = assert_gate_failed(case, case.run_failing(), EVENTS, "references_plan_id (error)")
    assert sample_of(failure, "event_id", "plan_id", "_source_file", "_source_row") == [
        {
            "event_id": "evt_9",
            "plan_id": "enterprise-yearly-usd",
            "_source_file": name,
            "_source_row": 1,
        }
    ]


@pytest.mark.slow
def test_c31_currency_without_an_fx_rate_fails_the_gate(case):
    name = new_events(
        case,
        [
            row(
                EVENTS,
                event_id="evt_9",
                subscription_id="sub_9",
                occurred_at="2024-04-01T09:00:00Z",
                unit_amount="40.00",
                currency="GBP",
            )
        ],
    )
    failure = assert_gate_failed(case, case.run_failing(), EVENTS, "fx_coverage (error)")
    columns = ("event_id", "used_currency", "used_date", "_source_file", "_source_row")
    assert sample_of(failure, *columns) == [
        {
            "event_id": "evt_9",
            "used_currency": "GBP",
            "used_date": "2024-04-01 00:00:00",
            "_source_file": name,
            "_source_row": 1,
        }
    ]


@pytest.mark.slow
def test_c32_subscription_canceled_before_it_was_created_fails_the_gate(case):
    new_events(
        case,
        [
            row(
                EVENTS,
                event_id="evt_9a",
                subscription_id="sub_9",
                event_type="canceled",
                status="canceled",
                occurred_at="2024-03-01T00:00:00Z",
                cancel_reason="other",
            ),
            row(
                EVENTS,
                event_id="evt_9b",
                subscription_id="sub_9",
                occurred_at="2024-03-05T00:00:00Z",
            ),
        ],
    )
    failure = assert_gate_failed(case, case.run_failing(), EVENTS, "lifecycle_order (error)")
    assert failure["sample"] == [
        {
            "subscription_id": "sub_9",
            "event_id": "evt_9a",
            "event_type": "canceled",
            "occurred_at": "2024-03-01 00:00:00",
            "_source_file": "subscription_events/subscription_events-0002.csv",
            "_source_row": 1,
        }
    ]


@pytest.mark.slow
def test_c33_tenfold_row_count_drop_fails_the_gate(case):
    write_csv(
        case.landing / "usage_events" / "usage_events-0001.csv",
        [row("usage_events", event_id=f"use_{i}") for i in (1, 2)],
    )
    failure = assert_gate_failed(
        case, case.run_failing(), "usage_events", "row_count_change (error)"
    )
    assert (failure["check"], failure["column"], failure["sample"]) == (
        "row_count_change",
        "ratio",
        [0.1],
    )


@pytest.mark.slow
def test_c34_empty_landing_folder_makes_the_cli_exit_non_zero(case, tmp_path):
    empty = tmp_path / "empty-landing"
    empty.mkdir()
    done = subprocess.run(
        [CLI, "run", "--landing", str(empty), "--warehouse", str(case.published)],
        capture_output=True,
        text=True,
        env={**os.environ, "SW_LOAD_TIME": LOAD_TIME},
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: landing folder {empty} is missing or empty: land your exports there "
        "(docs/raw-contract.md) or create sample data with `subscriber-warehouse generate`\n"
    )
    assert case.unchanged


@pytest.mark.slow
def test_c35_late_file_for_an_old_month_is_accepted_and_the_restatement_reported(case):
    late = new_events(
        case,
        [
            row(
                EVENTS,
                event_id="evt_late_1",
                subscription_id="sub_late",
                customer_id="cus_2",
                occurred_at="2024-02-10T09:00:00Z",
                plan_id="basic-monthly-usd",
                quantity="1",
                discount_pct="",
            ),
            row(
                EVENTS,
                event_id="evt_late_2",
                subscription_id="sub_late",
                customer_id="cus_2",
                event_type="canceled",
                status="canceled",
                occurred_at="2024-03-20T09:00:00Z",
                plan_id="basic-monthly-usd",
                quantity="1",
                discount_pct="",
                cancel_reason="not_using",
            ),
        ],
    )
    summary = case.run()
    assert not case.unchanged
    assert case.published_rows(
        f"select rows_read, rows_loaded, rows_rejected from audit.load_files "
        f"where source_file = '{late}'"
    ) == [(2, 2, 0)]
    # cus_2 paid 19.00 more at the end of February: new MRR, then a contraction in March
    assert case.published_rows(
        "select strftime(month_start, '%Y-%m'), mrr_start, mrr_end, new_mrr, contraction_mrr "
        "from marts.subscription_metrics_monthly order by month_start"
    ) == [
        ("2024-01", Decimal("0.00"), Decimal("132.30"), Decimal("132.30"), Decimal("0.00")),
        ("2024-02", Decimal("132.30"), Decimal("268.30"), Decimal("136.00"), Decimal("0.00")),
        ("2024-03", Decimal("268.30"), Decimal("293.40"), Decimal("0.00"), Decimal("19.00")),
        ("2024-04", Decimal("293.40"), Decimal("274.40"), Decimal("0.00"), Decimal("0.00")),
        ("2024-05", Decimal("274.40"), Decimal("254.80"), Decimal("0.00"), Decimal("19.60")),
    ]
    assert case.published_rows(
        "select strftime(month_start, '%Y-%m'), column_name, previous_value, new_value "
        "from audit.restatements order by month_start, column_name"
    ) == [
        ("2024-02", "mrr_end", 249.3, 268.3),
        ("2024-02", "new_mrr", 117.0, 136.0),
        ("2024-03", "contraction_mrr", 0.0, 19.0),
        ("2024-03", "mrr_start", 249.3, 268.3),
    ]
    assert case.quality()["restated_months"] == ["2024-02", "2024-03"]
    assert "restated months: 2024-02, 2024-03" in summary.splitlines()


# --- accepted with a warning: four cases landed together, one run (disjoint entities) --------


@pytest.fixture(scope="module")
def accepted(baseline, tmp_path_factory) -> tuple[Case, str]:
    case = copy_baseline(baseline, tmp_path_factory.mktemp("accepted"))
    events = case.landing / EVENTS
    [redelivered] = [r for r in BASELINE_EVENTS if r["event_id"] == "evt_4"]
    # C36: evt_4 (sub_3 created) delivered again, identical
    write_csv(events / f"{EVENTS}-0002-redelivery.csv", [redelivered])
    # C37: evt_7 (sub_3 discount change) delivered again with 25 % instead of 20 %
    write_csv(
        events / f"{EVENTS}-0003-conflict.csv",
        [
            row(
                EVENTS,
                event_id="evt_7",
                subscription_id="sub_3",
                customer_id="cus_3",
                event_type="discount_changed",
                occurred_at="2024-05-31T12:00:00Z",
                quantity="2",
                discount_pct="25",
            )
        ],
    )
    # C38: basic-monthly-usd's only version delivered again at 21.00, same updated_at
    write_csv(
        case.landing / "plans" / "plans-0002.csv",
        [
            row(
                "plans",
                plan_id="basic-monthly-usd",
                plan_name="Basic monthly",
                tier="starter",
                unit_amount="21.00",
            )
        ],
    )
    # C39: a new customer whose subscription starts at 00:30 on March 1 in UTC+1
    write_csv(
        case.landing / "customers" / "customers-0002.csv",
        [
            row(
                "customers",
                customer_id="cus_4",
                email="dee@example.com",
                created_at="2024-03-01T00:30:00+01:00",
                updated_at="2024-03-01T00:30:00+01:00",
            )
        ],
    )
    write_csv(
        events / f"{EVENTS}-0004-offset.csv",
        [
            row(
                EVENTS,
                event_id="evt_40",
                subscription_id="sub_4",
                customer_id="cus_4",
                occurred_at="2024-03-01T00:30:00+01:00",
                quantity="1",
                discount_pct="",
            )
        ],
    )
    return case, case.run()


def customer_mrr(case: Case, customer: str) -> list[tuple]:
    return case.published_rows(
        "select strftime(month_start, '%Y-%m'), mrr, movement from marts.fct_customer_mrr_monthly "
        f"where customer_id = '{customer}' order by month_start"
    )


def event_fact(case: Case, event_id: str) -> list[tuple]:
    return case.published_rows(
        "select occurred_at, discount_pct, mrr, delivery_count, has_conflicting_copies "
        f"from marts.fct_subscription_events where event_id = '{event_id}'"
    )


def warning_of(case: Case, table: str) -> dict:
    gate = failed_gate(case.quality(), f"raw/{table}")
    assert (gate["severity"], gate["failed_checks"]) == ("WARN", "conflicting_copies (warn)")
    [failure] = gate["failures"]
    assert (failure["check"], failure["severity"], failure["unexpected_count"]) == (
        "conflicting_copies",
        "warn",
        1,
    )
    return failure


@pytest.mark.slow
def test_c36_identical_redelivery_is_kept_raw_and_counted_once(accepted):
    case, summary = accepted
    report = case.quality()
    assert (report["success"], report["failed_errors"], report["failed_warnings"]) == (True, 0, 2)
    assert case.working_rows(
        f"select _source_file from raw.{EVENTS} where event_id = 'evt_4' order by 1"
    ) == [(f"{EVENTS}/{EVENTS}-0001.csv",), (f"{EVENTS}/{EVENTS}-0002-redelivery.csv",)]
    assert event_fact(case, "evt_4") == [
        (datetime(2024, 2, 1, 12), Decimal("0"), Decimal("98.00"), 2, False)
    ]
    assert customer_mrr(case, "cus_3")[:3] == [
        ("2024-02", Decimal("98.00"), "new"),
        ("2024-03", Decimal("98.00"), "retained"),
        ("2024-04", Decimal("98.00"), "retained"),
    ]
    # the conflicting-copies warning names only evt_7 (C37), not the identical copy
    assert warning_of(case, EVENTS)["sample"] == [{"event_id": "evt_7", "distinct_copies": 2}]


@pytest.mark.slow
def test_c37_conflicting_redelivery_the_later_file_wins_with_a_warning(accepted):
    case, summary = accepted
    assert event_fact(case, "evt_7") == [
        (datetime(2024, 5, 31, 12), Decimal("25"), Decimal("73.50"), 2, True)
    ]
    assert customer_mrr(case, "cus_3")[-1] == ("2024-05", Decimal("73.50"), "contraction")
    assert warning_of(case, EVENTS)["sample"] == [{"event_id": "evt_7", "distinct_copies": 2}]
    assert (
        "  warn  raw/subscription_events gx_raw_contract: conflicting_copies (warn)"
        in summary.splitlines()
    )


@pytest.mark.slow
def test_c38_plan_versions_with_equal_updated_at_the_later_file_wins(accepted):
    case, summary = accepted
    assert case.published_rows(
        "select version_number, unit_amount, valid_from, valid_to from marts.dim_plans "
        "where plan_id = 'basic-monthly-usd'"
    ) == [(1, Decimal("21.00"), datetime(1, 1, 1), datetime(9999, 12, 31))]
    assert customer_mrr(case, "cus_2") == [
        ("2024-02", Decimal("21.00"), "new"),
        ("2024-03", Decimal("21.00"), "retained"),
        ("2024-04", Decimal("0.00"), "churn"),
    ]
    assert warning_of(case, "plans")["sample"] == [
        {"plan_id": "basic-monthly-usd", "updated_at": "2023-12-01 00:00:00", "distinct_copies": 2}
    ]
    assert "  warn  raw/plans gx_raw_contract: conflicting_copies (warn)" in summary.splitlines()


@pytest.mark.slow
def test_c39_offset_timestamp_moves_the_start_into_feb_29_utc(accepted):
    case, _ = accepted
    assert event_fact(case, "evt_40") == [
        (datetime(2024, 2, 29, 23, 30), Decimal("0"), Decimal("49.00"), 1, False)
    ]
    assert customer_mrr(case, "cus_4") == [
        ("2024-02", Decimal("49.00"), "new"),
        ("2024-03", Decimal("49.00"), "retained"),
        ("2024-04", Decimal("49.00"), "retained"),
        ("2024-05", Decimal("49.00"), "retained"),
    ]
