"""The raw-load assets under Dagster: materialize() on small real files."""

from __future__ import annotations

import dagster as dg
import duckdb
from rows import VALID, land_minimal, row, write_csv

from orchestration.assets.raw import raw_assets as raw_assets_for
from orchestration.partitions import range_tags
from orchestration.resources import Warehouse
from subscriber_warehouse.contract import DAILY_TABLES, TABLES
from subscriber_warehouse.publish import working_path

raw_assets = raw_assets_for("native")


def warehouse(tmp_path) -> Warehouse:
    return Warehouse(
        landing_dir=str(tmp_path / "landing"),
        warehouse_path=str(tmp_path / "wh.duckdb"),
        load_time="2024-06-01T00:00:00Z",
    )


def materialize(tmp_path, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(raw_assets, resources={"warehouse": warehouse(tmp_path)}, **kwargs)


def metadata(result: dg.ExecuteInProcessResult, table: str) -> dict:
    [event] = result.asset_materializations_for_node(f"raw__{table}")
    return {k: v.value for k, v in event.metadata.items()}


def test_every_raw_table_is_an_asset():
    keys = {key for a in raw_assets for key in a.keys}
    assert keys == {dg.AssetKey(["raw", t]) for t in TABLES}


def test_materializations_record_row_accounting(tmp_path):
    landing = land_minimal(tmp_path / "landing")
    write_csv(
        landing / "payments" / "payments-0002.csv",
        [row("payments", payment_id="pay_2"), row("payments", payment_id="pay_3", amount="-1")],
    )
    result = materialize(tmp_path)
    assert result.success
    payments = metadata(result, "payments")
    assert (
        payments["files_seen"],
        payments["rows_read"],
        payments["rows_loaded"],
        payments["rows_rejected"],
    ) == (2, 3, 2, 1)
    for table in TABLES:
        m = metadata(result, table)
        assert m["rows_read"] == m["rows_loaded"] + m["rows_rejected"], table


def test_unknown_columns_are_reported_in_metadata(tmp_path):
    landing = land_minimal(tmp_path / "landing")
    write_csv(landing / "refunds" / "refunds-0001.csv", [{**VALID["refunds"], "note": "x"}])
    result = materialize(tmp_path)
    assert metadata(result, "refunds")["unknown_columns"] == "note"


def test_a_file_that_cannot_be_loaded_fails_its_asset_naming_the_file(tmp_path):
    landing = land_minimal(tmp_path / "landing")
    (landing / "plans" / "plans-0002.csv").write_text("plan_id\nx\n")
    result = materialize(tmp_path, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "raw__plans"
    assert "plans/plans-0002.csv: missing required column 'product'" in str(
        failure.event_specific_data.error.to_string()
    )


def test_materializing_again_gives_identical_tables(tmp_path):
    land_minimal(tmp_path / "landing")
    snapshots = []
    for _ in range(2):
        assert materialize(tmp_path).success
        con = duckdb.connect(str(working_path(tmp_path / "wh.duckdb")), read_only=True)
        snapshots.append(
            [con.execute(f"select * from raw.{t} order by all").fetchall() for t in TABLES]
        )
        con.close()
    assert snapshots[0] == snapshots[1]


# --- the daily tables: partitioned by day folder ------------------------------------------------


def land_usage_day(landing, day: str, name: str, *ids: str) -> None:
    rows = [row("usage_events", event_id=i, occurred_at=f"{day}T08:00:00Z") for i in ids]
    write_csv(landing / "usage_events" / day / name, rows)


def usage_rows(tmp_path) -> list[tuple]:
    con = duckdb.connect(str(working_path(tmp_path / "wh.duckdb")), read_only=True)
    try:
        return con.execute(
            "select event_id, _source_file from raw.usage_events order by event_id"
        ).fetchall()
    finally:
        con.close()


def test_the_daily_tables_are_partitioned_by_day_with_single_run_backfills():
    by_key = {key.path[1]: a for a in raw_assets for key in a.keys}
    for table in TABLES:
        partitions = by_key[table].partitions_def
        if table in DAILY_TABLES:
            assert isinstance(partitions, dg.DailyPartitionsDefinition), table
            assert by_key[table].backfill_policy == dg.BackfillPolicy.single_run()
        else:
            assert partitions is None, table


def test_a_partition_run_replaces_its_day_and_keeps_the_others(tmp_path):
    landing = land_minimal(tmp_path / "landing")
    land_usage_day(landing, "2024-01-06", "a.csv", "u1")
    land_usage_day(landing, "2024-01-07", "a.csv", "u2")
    assert materialize(tmp_path).success  # no partition: every file
    land_usage_day(landing, "2024-01-07", "b.csv", "u3")  # a second file for the 7th
    land_usage_day(landing, "2024-01-06", "b.csv", "u4")  # not loaded by the 7th's run

    usage = [a for a in raw_assets if dg.AssetKey(["raw", "usage_events"]) in a.keys]
    result = dg.materialize(
        usage, partition_key="2024-01-07", resources={"warehouse": warehouse(tmp_path)}
    )
    assert result.success
    assert usage_rows(tmp_path) == [
        ("u1", "usage_events/2024-01-06/a.csv"),
        ("u2", "usage_events/2024-01-07/a.csv"),
        ("u3", "usage_events/2024-01-07/b.csv"),
        ("use_1", "usage_events/usage_events-0001.csv"),  # top-level history: kept
    ]
    m = metadata(result, "usage_events")
    assert (m["days_replaced"], m["first_day"], m["last_day"], m["files_seen"]) == (
        1,
        "2024-01-07",
        "2024-01-07",
        2,
    )


def test_a_range_of_days_loads_in_one_step(tmp_path):
    landing = land_minimal(tmp_path / "landing")
    for day, event in (("2024-01-06", "u1"), ("2024-01-08", "u2"), ("2024-01-09", "u3")):
        land_usage_day(landing, day, "a.csv", event)
    usage = [a for a in raw_assets if dg.AssetKey(["raw", "usage_events"]) in a.keys]
    result = dg.materialize(
        usage,
        resources={"warehouse": warehouse(tmp_path)},
        tags=range_tags("2024-01-07", "2024-01-09"),
    )
    assert result.success
    starts = [e for e in result.all_events if e.event_type_value == "STEP_START"]
    assert len(starts) == 1
    # one materialization per day of the range, from the one step
    events = result.asset_materializations_for_node("raw__usage_events")
    assert sorted(e.partition for e in events) == ["2024-01-07", "2024-01-08", "2024-01-09"]
    assert {e.metadata["days_with_files"].value for e in events} == {2}
    assert [r[0] for r in usage_rows(tmp_path)] == ["u2", "u3"]


def test_the_files_table_is_bounded_and_shows_quarantining_files_first(tmp_path):
    # a range run repeats its metadata on every day's materialization: a table of every file
    # would grow with the square of the history; every file's counts are in raw.load_files
    landing = land_minimal(tmp_path / "landing")
    for n in range(2, 26):
        write_csv(
            landing / "payments" / f"payments-{n:04}.csv", [row("payments", payment_id=f"p{n}")]
        )
    write_csv(landing / "payments" / "payments-0099.csv", [row("payments", amount="-1")])
    payments = metadata(materialize(tmp_path), "payments")
    assert payments["files_seen"] == 26
    lines = payments["files"].splitlines()
    assert lines[2] == "| payments/payments-0099.csv | 1 | 0 | 1 |"
    assert len(lines) == 2 + 20 + 1
    assert lines[-1].startswith("| … 6 more files: raw.load_files |")
