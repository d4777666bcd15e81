"""Nothing lost, nothing wrong, nothing silent: one run at a time, every landing entry accounted
for, plausibility gates, a reader that can tell a stale connection, a naive load time in UTC,
paths as literals, clean recovery from a failed publish (issue: reliability, one test per class).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from flow import cli
from rows import VALID, land_minimal, write_csv

from quality.checks import raw_suite
from quality.gx_runner import run_gate
from quality.marts import MART_SUITES
from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load import connect, load_table
from subscriber_warehouse.lock import WarehouseBusy, lock_path, warehouse_lock
from subscriber_warehouse.publish import (
    StalePublication,
    open_published,
    publication_path,
    publish,
    working_path,
)

NOW = datetime(2024, 6, 1)
HOLD = """
import sys, time
from pathlib import Path
from subscriber_warehouse.lock import warehouse_lock
with warehouse_lock(Path(sys.argv[1]), "held-by-test"):
    print("held", flush=True)
    time.sleep(60)
"""


# --- 1. one run at a time --------------------------------------------------------------------


def test_a_second_run_on_a_held_warehouse_fails_at_once_naming_the_first(tmp_path):
    landing, warehouse = land_minimal(tmp_path / "landing"), tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        done = cli("run", "--landing", str(landing), "--warehouse", str(warehouse))
        seconds = time.perf_counter() - started
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    assert "is being built by run held-by-test" in done.stderr
    assert f"pid {holder.pid}" in done.stderr
    assert seconds < 20  # before dbt's parse and Dagster's start
    # it touched nothing: no log, no quality report, no working database
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landing", "w.duckdb.lock"]


def test_a_lock_left_by_a_killed_run_is_taken_by_the_next(tmp_path):
    published = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(published)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(WarehouseBusy, match="held-by-test"), warehouse_lock(published, "second"):
        pass
    holder.kill()  # SIGKILL: no clean-up ran; the file stays, the kernel's lock is gone
    holder.wait()
    assert lock_path(published).exists()
    with warehouse_lock(published, "third"):
        holder_info = json.loads(lock_path(published).read_text())
        assert (holder_info["run"], holder_info["pid"]) == ("third", os.getpid())
        with warehouse_lock(published, "re-entered by the run's resource"):
            pass  # the same process may take it again


# --- 3. every landing entry loaded or named ---------------------------------------------------


def test_entries_the_loader_would_skip_fail_the_run_naming_each(tmp_path):
    landing = land_minimal(tmp_path / "landing")
    (landing / "Support_Tickets").mkdir()
    write_csv(landing / "Support_Tickets" / "t.csv", [VALID["support_tickets"]])
    (landing / "customers.csv").write_text("customer_id\n", encoding="utf-8")
    done = cli("run", "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert "landing: Support_Tickets/: not a table folder (did you mean support_tickets/?)" in lines
    assert any(line.startswith("landing: customers.csv: a file at the landing") for line in lines)
    assert f"2 problem(s) in {landing}: nothing was loaded" in lines[-1]


# --- 6. plausibility gates -------------------------------------------------------------------


def _loaded(tmp_path, overrides: dict[str, list[dict]]) -> duckdb.DuckDBPyConnection:
    landing = land_minimal(tmp_path / "landing")
    for table, rows in overrides.items():
        write_csv(landing / table / f"{table}-0002.csv", rows)
    con = connect(tmp_path / "w.duckdb")
    for table in TABLES:
        load_table(con, landing, table, NOW)
    return con


def _failed(con, table: str) -> dict[str, str]:
    report = run_gate(f"raw.{table}", raw_suite(table, "2024-06-01 00:00:00", {}), con)
    return {f.check: f.severity for f in report.failures}


def test_an_amount_above_the_ceiling_fails_its_gate(tmp_path):
    plan = {**VALID["plans"], "plan_id": "gold", "unit_amount": "999999999999.99"}
    con = _loaded(tmp_path, {"plans": [plan]})
    assert _failed(con, "plans") == {"amount_ceiling": "error"}


def test_an_event_before_its_customer_existed_is_reported(tmp_path):
    assert "before_customer" not in _failed(_loaded(tmp_path / "valid", {}), "subscription_events")
    early = {**VALID["subscription_events"], "event_id": "evt_early"}
    early["occurred_at"] = "2019-01-01T00:00:00Z"  # the customer was created in 2024
    con = _loaded(tmp_path, {"subscription_events": [early]})
    assert _failed(con, "subscription_events")["before_customer"] == "warn"


def test_a_tenfold_mrr_jump_fails_the_metrics_gate():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.subscription_metrics_monthly as select * from (values "
        "(date '2024-01-01', 0.0, 1000.0, 0, 20, 1000.0, 0.0, 0.0, 0.0, 0.0),"
        "(date '2024-02-01', 1000.0, 11000.0, 20, 21, 0.0, 10000.0, 0.0, 0.0, 0.0)) as m("
        "month_start, mrr_start, mrr_end, customers_start, customers_end, new_mrr, "
        "expansion_mrr, reactivation_mrr, contraction_mrr, churned_mrr)"
    )
    con.execute("create table marts.fct_subscription_periods as select 1 as x")
    jump = [c for c in MART_SUITES["subscription_metrics_monthly"] if c.name == "mrr_jump"]
    report = run_gate("marts.subscription_metrics_monthly", jump, con)
    assert [(f.check, f.severity) for f in report.failures] == [("mrr_jump", "error")]


# --- 7. a reader can tell a stale connection --------------------------------------------------


def _published(tmp_path: Path, run_id: str, value: int) -> Path:
    work = tmp_path / f"work-{run_id}.duckdb"
    con = duckdb.connect(str(work))
    con.execute("create schema marts")
    con.execute(f"create table marts.m as select {value} as v")
    con.execute("create schema raw")
    con.execute("create table raw.load_files (table_name varchar)")
    con.close()
    published = tmp_path / "w.duckdb"
    publish(work, published, run_id)
    return published


def test_a_reader_holding_an_older_version_is_told_to_reconnect(tmp_path):
    published = _published(tmp_path, "run1", 1)
    first = open_published(published)
    assert first.execute("select v from marts.m").fetchall() == [(1,)]
    _published(tmp_path, "run2", 2)
    # DuckDB hands this process its open database again: the old version
    with pytest.raises(StalePublication, match="run run1; the published one is run run2"):
        open_published(published)
    first.close()
    again = open_published(published)
    assert again.execute("select v from marts.m").fetchall() == [(2,)]
    again.close()
    assert json.loads(publication_path(published).read_text()) == {"run_id": "run2"}


# --- 8. a naive load time is UTC --------------------------------------------------------------


def test_a_naive_load_time_is_utc_whatever_the_machine_zone():
    code = (
        "from orchestration.resources import load_instant; "
        "print(load_instant('2024-06-01T00:00:00'), load_instant('2024-06-01T05:30:00+05:30'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "Asia/Kolkata"},
        check=True,
    )
    assert done.stdout.split() == ["2024-06-01", "00:00:00", "2024-06-01", "00:00:00"]


# --- 12. paths are literals -------------------------------------------------------------------


def test_exports_into_a_folder_named_with_a_quote(tmp_path):
    from subscriber_warehouse.audiences import experiment_settings, export_audiences

    folder = tmp_path / "o'brien's data"
    published = folder / "warehouse.duckdb"
    work = working_path(published)
    work.parent.mkdir(parents=True)
    con = duckdb.connect(str(work))
    con.execute("create schema marts")
    for audience in experiment_settings().audiences:
        con.execute(
            f"create table marts.audience_{audience} as select 'c1' as customer_id, 'h' as "
            "email_hash, 'why' as reason, 'email' as preferred_channel, true as "
            "is_email_opt_in, false as is_sms_opt_in"
        )
    con.execute("create table marts.dim_subscribers as select timestamp '2024-06-01' as as_of_at")
    con.execute("create schema raw")
    con.execute("create table raw.load_files (table_name varchar)")
    con.execute("create schema staging")
    con.execute(
        "create table staging.base_billing__customers as "
        "select 'c1' as customer_id, 'o''brien@example.com' as email, null as phone"
    )
    con.close()
    publish(work, published, "r1")
    # the second run reads the first's files for its changes
    for run in ("r1", "r2"):
        counts = export_audiences(published, folder / "exports" / run)
    assert counts["win_back"] == {"email": 1, "sms": 0, "ads": 1}
    email = (folder / "exports" / "latest" / "audience_win_back__email.csv").read_text()
    assert email == "customer_id,email,reason\nc1,o'brien@example.com,why\n"


# --- 13. a failed publish leaves nothing behind ------------------------------------------------


def test_a_failed_publish_cleans_up_and_the_next_succeeds(tmp_path, monkeypatch):
    import subscriber_warehouse.publish as publishing

    published = _published(tmp_path, "run1", 1)
    real = publishing._copy_published

    def full_disk(work, staged, published, run_id, docs):
        staged.write_bytes(b"half a file")
        staged.with_name(staged.name + ".wal").write_bytes(b"a log")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publishing, "_copy_published", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        _published(tmp_path, "run2", 2)
    assert sorted(p.name for p in tmp_path.glob(".*")) == []
    monkeypatch.setattr(publishing, "_copy_published", real)
    _published(tmp_path, "run3", 3)
    con = open_published(published)
    assert con.execute("select v from marts.m").fetchall() == [(3,)]
    con.close()


def test_a_failed_load_reports_its_own_error_not_the_rollback(tmp_path):
    from subscriber_warehouse.load.table import _transaction

    class Aborted:
        """A connection whose transaction an error already ended: rollback fails too."""

        def execute(self, sql, *args):
            if sql == "rollback":
                raise duckdb.TransactionException("cannot rollback - no transaction is active")

    with pytest.raises(OSError, match="No space left"), _transaction(Aborted()):
        raise OSError(28, "No space left on device")


# --- 15. a writer on the published file is named, not a lock error -----------------------------


def test_gates_say_a_writer_holds_the_published_file(tmp_path):
    import dagster as dg

    from orchestration.checks import last_published_counts

    published = _published(tmp_path, "run1", 1)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', "
            "flush=True); time.sleep(60)",
            str(published),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(dg.Failure, match="readers must open it read-only"):
            last_published_counts(published)
    finally:
        writer.kill()
        writer.wait()


def test_the_landing_sensor_starts_nothing_while_entries_would_be_skipped(tmp_path):
    import dagster as dg

    from orchestration.resources import Warehouse
    from orchestration.sensors import landing_files_sensor

    landing = land_minimal(tmp_path / "landing")
    (landing / "Usage_Events").mkdir()
    warehouse = Warehouse(landing_dir=str(landing), warehouse_path=str(tmp_path / "w.duckdb"))
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}) as context,
    ):
        result = landing_files_sensor(context)
    assert not result.run_requests
    assert "Usage_Events/: not a table folder (did you mean usage_events/?)" in (
        result.skip_reason.skip_message
    )


def test_a_usd_event_before_the_first_landed_usd_rate_fails_fx_coverage(tmp_path):
    """USD is 1 unless landed; landed, its own rates must cover its days like any currency's
    (else MRR is null and only a dbt test, naming no file, would say so)."""
    usd = {"rate_date": "2024-03-01", "currency": "USD", "rate_to_usd": "1"}
    con = _loaded(tmp_path, {"fx_rates": [usd]})  # the minimal event is on 2024-01-05, USD
    assert _failed(con, "subscription_events").get("fx_coverage") == "error"
