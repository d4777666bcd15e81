"""Production orchestration: the asset graph snapshot, the schedule, the landing sensor, run-status
sensors (alerts, quality report), retries and freshness policies. Dagster's test builders on tiny
real inputs: no dbt build, no full pipeline.

Regenerate the asset-graph snapshot after adding or rewiring assets:
    SW_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_orchestration.py -k snapshot
"""

import json
import os
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from rows import land_minimal

import orchestration.assets.raw as raw
from orchestration import quality_report
from orchestration.dbt_runs import broken_rules
from orchestration.freshness import DAILY_WITH_SLACK, FRESHNESS_BY_KEY_PREFIX
from orchestration.jobs import PIPELINE_JOB
from orchestration.project import prepare_manifest
from orchestration.resources import Warehouse
from orchestration.run_status import (
    ALERT_WEBHOOK_ENV,
    alerts_log,
    quality_report_sensors,
    run_failure_alert,
)
from orchestration.schedules import daily_pipeline_schedule
from orchestration.sensors import landing_files_sensor

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"
UPDATE_SNAPSHOTS = "SW_UPDATE_SNAPSHOTS"


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    prepare_manifest()
    from orchestration.definitions import defs

    return defs


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    (tmp_path / "landing").mkdir()
    return Warehouse(
        landing_dir=str(tmp_path / "landing"), warehouse_path=str(tmp_path / "wh.duckdb")
    )


# --- the asset graph --------------------------------------------------------------------------


def asset_graph(defs: dg.Definitions) -> dict[str, list[str]]:
    """Every asset key with the keys it depends on: what tests/snapshots/asset_graph.json holds."""
    specs = sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string())
    return {
        spec.key.to_user_string(): sorted(dep.asset_key.to_user_string() for dep in spec.deps)
        for spec in specs
    }


def write_snapshot(graph: dict[str, list[str]]) -> None:
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT.write_text(json.dumps(graph, indent=1) + "\n")


def graph_changes(recorded: dict, current: dict) -> list[str]:
    added = [f"+ {k}" for k in sorted(current.keys() - recorded.keys())]
    removed = [f"- {k}" for k in sorted(recorded.keys() - current.keys())]
    rewired = []
    for key in sorted(current.keys() & recorded.keys()):
        gained = [f"+{d}" for d in sorted(set(current[key]) - set(recorded[key]))]
        lost = [f"-{d}" for d in sorted(set(recorded[key]) - set(current[key]))]
        if gained or lost:
            rewired.append(f"~ {key} deps: {' '.join(gained + lost)}")
    return added + removed + rewired


def test_asset_graph_matches_snapshot(defs):
    current = asset_graph(defs)
    if os.environ.get(UPDATE_SNAPSHOTS):
        write_snapshot(current)
    changes = graph_changes(json.loads(SNAPSHOT.read_text()), current)
    assert not changes, (
        "the asset graph changed; if intended, regenerate the snapshot with "
        f"`{UPDATE_SNAPSHOTS}=1 .venv/bin/pytest tests/test_orchestration.py -k snapshot` "
        "and review its diff:\n" + "\n".join(changes)
    )


def test_the_schedule_and_sensors_are_in_the_definitions(defs):
    schedule = defs.resolve_schedule_def("daily_pipeline")
    assert (schedule.job_name, schedule.cron_schedule, schedule.execution_timezone) == (
        PIPELINE_JOB,
        "0 2 * * *",
        "UTC",
    )
    assert defs.resolve_sensor_def("landing_files_sensor").job_name == PIPELINE_JOB
    for name in ("run_failure_alert", "quality_report_on_success", "quality_report_on_failure"):
        assert defs.resolve_sensor_def(name) is not None
    assert defs.resolve_job_def(PIPELINE_JOB) is not None


def test_raw_tables_and_dbt_marts_fail_freshness_after_26_hours(defs):
    from orchestration.dbt import DBT_ASSETS

    policies = {spec.key: spec.freshness_policy for spec in defs.resolve_all_asset_specs()}
    covered = [k for k in policies if k.path[0] == "raw"]
    covered += [k for a in DBT_ASSETS for k in a.keys if k.path[0] == "marts"]
    assert len(covered) > 13
    for key in covered:
        assert policies[key] == FRESHNESS_BY_KEY_PREFIX[key.path[0]], key
        assert policies[key].fail_window.to_timedelta() == DAILY_WITH_SLACK


def test_freshness_adds_no_checks_to_the_pipeline(defs):
    # freshness is a policy the daemon evaluates, not a check the quality report would count
    job = defs.resolve_job_def(PIPELINE_JOB)
    names = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert not any("freshness" in name for name in names)


# --- the schedule -----------------------------------------------------------------------------


def test_the_daily_schedule_requests_one_pipeline_run_for_yesterday(defs):
    # a schedule built from a partitioned asset job is resolved against the definitions
    schedule = defs.resolve_schedule_def(daily_pipeline_schedule.name)
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    )
    data = schedule.evaluate_tick(context)
    [request] = data.run_requests
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-03-01"  # the day whose exports are now complete
    assert schedule.job_name == PIPELINE_JOB


# --- the landing sensor -----------------------------------------------------------------------


class LandingSensor:
    """Evaluates the sensor as the daemon does: each tick gets the cursor of the one before."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self.cursor: str | None = None
        self.run_keys: list[str] = []

    def tick(self) -> list[dg.RunRequest]:
        # the warehouse resource has a run's lifecycle (its lock): a context manager opens it
        with dg.build_sensor_context(
            cursor=self.cursor, resources={"warehouse": self.warehouse}
        ) as context:
            result = landing_files_sensor(context)
        self.cursor = result.cursor
        self.run_keys += [r.run_key for r in result.run_requests or []]
        return list(result.run_requests or [])


def land(warehouse: Warehouse, relative: str, text: str = "customer_id\ncus_1\n") -> Path:
    path = warehouse.landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_new_file_triggers_one_run_once_its_size_is_unchanged(warehouse):
    sensor = LandingSensor(warehouse)
    path = land(warehouse, "customers/customers-0001.csv")
    assert sensor.tick() == []  # first seen: recorded, not yet trusted
    [request] = sensor.tick()  # same size on the next tick
    assert request.run_key.startswith("landing-")
    assert sensor.tick() == []  # picked up once
    assert sensor.tick() == []
    size = path.stat().st_size
    assert json.loads(sensor.cursor) == {
        "picked_up": {"customers/customers-0001.csv": size},
        "waiting": {},
    }


def test_another_new_file_triggers_again_with_another_run_key(warehouse):
    sensor = LandingSensor(warehouse)
    land(warehouse, "customers/customers-0001.csv")
    sensor.tick(), sensor.tick()
    land(warehouse, "subscription_events/subscription_events-0001.parquet", "PAR1")
    assert sensor.tick() == []
    [request] = sensor.tick()
    assert request.tags["subscriber_warehouse/new_landing_files"] == "1"
    assert len(set(sensor.run_keys)) == 2


def test_temporary_hidden_and_unknown_files_never_trigger(warehouse):
    sensor = LandingSensor(warehouse)
    land(warehouse, "customers/customers-0002.csv.tmp")
    land(warehouse, "customers/customers-0003.csv.part")
    land(warehouse, "customers/.customers-0004.csv")
    land(warehouse, "customers/_SUCCESS")
    for _ in range(3):
        assert sensor.tick() == []
    # renamed into place once complete: now it is a landing file
    (warehouse.landing / "customers/customers-0002.csv.tmp").rename(
        warehouse.landing / "customers/customers-0002.csv"
    )
    assert sensor.tick() == []
    assert len(sensor.tick()) == 1


def test_a_file_still_growing_waits_until_its_size_settles(warehouse):
    sensor = LandingSensor(warehouse)
    path = land(warehouse, "plans/plans-0001.csv", "plan_id,product\n")
    assert sensor.tick() == []
    with open(path, "a") as f:
        f.write("basic-monthly-usd,basic\n")
    assert sensor.tick() == []  # size changed since the last tick
    assert len(sensor.tick()) == 1


def test_the_same_files_give_the_same_run_key(tmp_path):
    keys = []
    for name in ("a", "b"):
        sensor = LandingSensor(
            Warehouse(
                landing_dir=str(tmp_path / name / "landing"),
                warehouse_path=str(tmp_path / name / "wh.duckdb"),
            )
        )
        land(sensor.warehouse, "customers/customers-0001.csv")
        sensor.tick(), sensor.tick()
        keys += sensor.run_keys
    # the daemon launches one run per run key: a reset cursor cannot load the same files twice
    assert keys[0] == keys[1]


# --- run-status sensors -----------------------------------------------------------------------


@dg.op
def load_customers():
    raise ValueError("customers/customers-0001.csv: missing required column 'email'")


@dg.job
def failing_job():
    load_customers()


def failed_run_context(instance: dg.DagsterInstance, warehouse: Warehouse):
    result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources={"warehouse": warehouse},
    )
    return result, context


class Webhook:
    """A local HTTP endpoint that records the JSON bodies POSTed to it."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers["Content-Type"], json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_failed_run_appends_an_alert_line_and_posts_it_to_the_webhook(warehouse, monkeypatch):
    with dg.DagsterInstance.ephemeral() as instance, Webhook() as webhook:
        monkeypatch.setenv(ALERT_WEBHOOK_ENV, webhook.url)
        result, context = failed_run_context(instance, warehouse)
        with context:
            run_failure_alert(context)

    [line] = alerts_log(warehouse.published).read_text().splitlines()
    alert = json.loads(line)
    assert alerts_log(warehouse.published).name == "wh.alerts.log"
    assert (alert["run_id"], alert["job"]) == (result.run_id, "failing_job")
    assert alert["failed_steps"] == [
        {
            "step": "load_customers",
            "error": "customers/customers-0001.csv: missing required column 'email'",
        }
    ]
    assert "failing_job" in alert["error"]
    assert datetime.strptime(alert["time_utc"], "%Y-%m-%dT%H:%M:%SZ")
    assert webhook.received == [("application/json", alert)]


def test_an_unreachable_webhook_is_logged_not_raised(warehouse, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, f"http://127.0.0.1:{port}/alerts")
    with dg.DagsterInstance.ephemeral() as instance:
        _, context = failed_run_context(instance, warehouse)
        with context:
            run_failure_alert(context)
            run_failure_alert(context)
    assert len(alerts_log(warehouse.published).read_text().splitlines()) == 2


PUBLISHED_KEY = quality_report.PUBLISHED_KEY


@dg.asset(key=["raw", "customers"])
def tiny_raw_customers() -> None:
    pass


@dg.asset_check(asset=tiny_raw_customers, name="gx_raw_contract")
def tiny_gate() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_evaluated": 3, "failed_checks": "freshness (warn)"},
    )


@dg.asset(key=PUBLISHED_KEY, deps=[tiny_raw_customers])
def tiny_published() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"restated_months": dg.MetadataValue.json(["2024-03"])})


def tiny_pipeline_run(instance: dg.DagsterInstance, tags: dict) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job(PIPELINE_JOB, executor_def=dg.in_process_executor)
    tiny = dg.Definitions(
        assets=[tiny_raw_customers, tiny_published], asset_checks=[tiny_gate], jobs=[job]
    )
    return tiny.resolve_job_def(PIPELINE_JOB).execute_in_process(instance=instance, tags=tags)


def report_sensor_context(instance, result, warehouse):
    return dg.build_run_status_sensor_context(
        sensor_name="quality_report_on_success",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_success_event(),
        resources={"warehouse": warehouse},
    )


def test_a_scheduled_run_gets_the_same_quality_report_the_cli_writes(warehouse):
    on_success = quality_report_sensors[0]
    with dg.DagsterInstance.ephemeral() as instance:
        result = tiny_pipeline_run(instance, {"dagster/schedule_name": "daily_pipeline"})
        with report_sensor_context(instance, result, warehouse) as context:
            on_success(context)

    written = json.loads(quality_report.report_path(warehouse.published).read_text())
    # the CLI's report of the same run, from the in-process result
    assert written == json.loads(json.dumps(quality_report.collect(result), default=str))
    assert (written["success"], written["checks"], written["failed_warnings"]) == (True, 1, 1)
    assert written["restated_months"] == ["2024-03"]


def test_a_run_nobody_scheduled_gets_no_report_from_the_sensor(warehouse):
    on_success = quality_report_sensors[0]
    with dg.DagsterInstance.ephemeral() as instance:
        result = tiny_pipeline_run(instance, {})  # as the CLI runs it
        with report_sensor_context(instance, result, warehouse) as context:
            on_success(context)
    assert not quality_report.report_path(warehouse.published).exists()


# --- retries ----------------------------------------------------------------------------------


def run_raw_assets(tmp_path, load_table, monkeypatch) -> dg.ExecuteInProcessResult:
    land_minimal(tmp_path / "landing")
    monkeypatch.setattr(raw, "load_table", load_table)
    # the policy's 5 s delay, not waited for here; the retry itself is what is tested
    monkeypatch.setattr(dg.RetryPolicy, "calculate_delay", lambda self, attempt: 0)
    job = dg.define_asset_job(PIPELINE_JOB, executor_def=dg.in_process_executor)
    warehouse = Warehouse(
        landing_dir=str(tmp_path / "landing"),
        warehouse_path=str(tmp_path / "wh.duckdb"),
        load_time="2024-06-01T00:00:00Z",
    )
    tiny = dg.Definitions(
        assets=raw.raw_assets("native"), jobs=[job], resources={"warehouse": warehouse}
    )
    return tiny.resolve_job_def(PIPELINE_JOB).execute_in_process(raise_on_error=False)


def test_a_transient_load_error_is_retried_in_process(tmp_path, monkeypatch):
    real_load, attempts = raw.load_table, []

    def flaky_load(con, landing, table, *args):
        attempts.append(table.name)
        if table.name == "plans" and attempts.count("plans") == 1:
            raise OSError("landing share unavailable")
        return real_load(con, landing, table, *args)

    result = run_raw_assets(tmp_path, flaky_load, monkeypatch)
    assert result.success
    assert attempts.count("plans") == 2
    events = [e.event_type_value for e in result.all_events if e.step_key == "raw__plans"]
    assert "STEP_UP_FOR_RETRY" in events


def test_a_load_that_keeps_failing_names_its_error_after_the_retries(tmp_path, monkeypatch):
    from orchestration.quality_report import step_failures

    attempts = []

    def broken_share(con, landing, table, *args):
        attempts.append(table.name)
        raise OSError("landing share unavailable")

    result = run_raw_assets(tmp_path, broken_share, monkeypatch)
    assert not result.success
    assert attempts.count("customers") == 1 + raw.TRANSIENT_RETRY.max_retries
    assert ("raw__customers", "landing share unavailable") in step_failures(result.all_events)


def test_a_broken_landing_file_fails_at_once_with_the_loader_message(tmp_path, monkeypatch):
    from orchestration.quality_report import step_failures

    real_load, attempts = raw.load_table, []

    def counted_load(con, landing, table, *args):
        attempts.append(table.name)
        return real_load(con, landing, table, *args)

    (tmp_path / "landing" / "plans").mkdir(parents=True)
    (tmp_path / "landing" / "plans" / "plans-0002.csv").write_text("plan_id\nx\n")
    result = run_raw_assets(tmp_path, counted_load, monkeypatch)
    assert attempts.count("plans") == 1  # a contract error is not retried
    [(step, message)] = [f for f in step_failures(result.all_events) if f[0] == "raw__plans"]
    assert message.startswith("plans/plans-0002.csv: missing required column 'product'")


def test_a_failed_row_rules_check_names_the_rules_it_found_broken(tmp_path):
    con = duckdb.connect()
    con.execute("create table plans as select * from (values (null), ('p1'), ('p1')) as t (id)")
    compiled = (
        "select 'not_null: id' as rule, count(*) as failing_rows from plans where id is null "
        "union all select 'unique: id', 1"
    )
    uid = "test.subscriber_warehouse.dim_plans_row_rules.1a2b"
    (tmp_path / "run_results.json").write_text(
        json.dumps({"results": [{"unique_id": uid, "compiled_code": compiled}]})
    )
    check = dg.AssetCheckResult(
        passed=False,
        asset_key=["marts", "dim_plans"],
        check_name="dim_plans_row_rules",
        metadata={"unique_id": uid, "dagster_dbt/failed_row_count": 2},
    )
    named = broken_rules(con, tmp_path, check)
    assert named.metadata["failed_checks"].value == "not_null: id: 1; unique: id: 1"
    assert named.metadata["dagster_dbt/failed_row_count"].value == 2
    passed = dg.AssetCheckResult(passed=True, check_name="dim_plans_row_rules", metadata={})
    assert broken_rules(con, tmp_path, passed) is passed
