"""The raw-load assets under Dagster: materialize() on small real files."""

from __future__ import annotations

import dagster as dg
import duckdb
from rows import VALID, land_minimal, row, write_csv

from orchestration.assets.raw import raw_assets
from orchestration.resources import Warehouse
from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.publish import working_path


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
