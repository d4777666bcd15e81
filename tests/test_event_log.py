"""The instance's event log (orchestration/dagster.yaml, orchestration/event_log.py): Dagster's
SQLite files, written with connections kept open, read by Dagster's own class, and followed live."""

import shutil
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.event_log import KeptOpenSqliteEventLogStorage

INSTANCE_CONFIG = Path(__file__).resolve().parent.parent / "orchestration" / "dagster.yaml"


@dg.asset
def answer() -> int:
    return 42


@dg.asset_check(asset=answer)
def answer_is_positive(answer: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=answer > 0)


@pytest.fixture
def home(tmp_path, monkeypatch):
    shutil.copy(INSTANCE_CONFIG, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def run_job(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = dg.Definitions(
        assets=[answer], asset_checks=[answer_is_positive]
    ).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(instance=instance)


def test_a_run_is_stored_where_dagsters_own_event_log_reads_it(home):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, KeptOpenSqliteEventLogStorage)
        result = run_job(instance)
        assert result.success
        written = [
            e.dagster_event_type for e in instance.all_logs(result.run_id) if e.is_dagster_event
        ]
    plain = SqliteEventLogStorage(str(home / "history" / "runs"))
    read = [
        e.dagster_event_type for e in plain.get_logs_for_run(result.run_id) if e.is_dagster_event
    ]
    assert read == written
    assert dg.DagsterEventType.ASSET_MATERIALIZATION in read
    assert dg.DagsterEventType.ASSET_CHECK_EVALUATION in read
    # the index (the UI's asset pages) has the materialisation and the check's result too
    with dg.DagsterInstance.get() as instance:
        assert (
            instance.get_latest_materialization_event(dg.AssetKey("answer")).run_id == result.run_id
        )
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [answer_is_positive.check_key]
        )[answer_is_positive.check_key]
        assert check.run_id == result.run_id
    plain.dispose()


def test_a_watcher_in_another_instance_sees_each_new_event(home):
    """The UI follows a running run through a watch on its database file: an event written
    while the writer keeps its connection open must still reach it."""
    with dg.DagsterInstance.get() as writer, dg.DagsterInstance.get() as reader:
        result = run_job(writer)
        seen = threading.Event()
        messages = []

        def callback(event, _cursor):
            messages.append(event.message)
            if event.message == "one more":
                seen.set()

        reader.event_log_storage.watch(result.run_id, None, callback)
        time.sleep(0.5)  # the observer starts on its own thread
        writer.report_engine_event("one more", writer.get_run_by_id(result.run_id))
        assert seen.wait(15), messages[-3:]
        reader.event_log_storage.end_watch(result.run_id, callback)
