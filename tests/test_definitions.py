"""The Dagster code location: one Definitions, the asset graph from raw files to marts."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.project import prepare_manifest
from subscriber_warehouse.contract import TABLES


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    prepare_manifest()
    from orchestration.definitions import defs

    return defs


def graph(defs) -> dict[dg.AssetKey, set[dg.AssetKey]]:
    specs = defs.resolve_all_asset_specs()
    return {spec.key: {dep.asset_key for dep in spec.deps} for spec in specs}


def test_definitions_load_with_the_pipeline_job(defs):
    assert defs.resolve_job_def("pipeline") is not None


def test_staging_models_are_downstream_of_their_raw_assets(defs):
    deps = graph(defs)
    for table in TABLES:
        assert dg.AssetKey(["raw", table]) in deps
    assert deps[dg.AssetKey(["staging", "stg_billing__subscription_events"])] == {
        dg.AssetKey(["raw", "subscription_events"])
    }
    assert (
        dg.AssetKey(["raw", "fx_rates"]) in deps[dg.AssetKey(["staging", "stg_finance__fx_rates"])]
    )


def test_marts_are_grouped_by_layer_from_dbt_meta(defs):
    groups = {spec.key: spec.group_name for spec in defs.resolve_all_asset_specs()}
    assert groups[dg.AssetKey(["marts", "fct_customer_mrr_monthly"])] == "metrics"
    assert groups[dg.AssetKey(["marts", "dim_subscribers"])] == "core"
    assert (
        groups[dg.AssetKey(["intermediate", "int_subscriptions__state_periods"])] == "intermediate"
    )
    assert groups[dg.AssetKey(["staging", "stg_billing__customers"])] == "staging"
    assert groups[dg.AssetKey(["raw", "customers"])] == "raw"


def test_dbt_tests_are_asset_checks(defs):
    checks = {key for key in defs.resolve_asset_graph().asset_check_keys}
    bridge = [
        c for c in checks if c.asset_key == dg.AssetKey(["marts", "subscription_metrics_monthly"])
    ]
    # each model's rules are one dbt test (row_rules), beside the great-expectations suite
    assert {c.name for c in bridge} >= {"subscription_metrics_monthly_row_rules", "gx_metric_rules"}
    assert len(checks) > 100


def test_the_gates_reader_keeps_to_the_memory_limit_of_the_writer(tmp_path):
    from orchestration.resources import Warehouse

    warehouse = Warehouse(
        landing_dir=str(tmp_path), warehouse_path=str(tmp_path / "wh.duckdb"), memory_limit="1GB"
    )
    setting = "select current_setting('memory_limit')"
    with warehouse.connection() as con:
        written = con.execute(setting).fetchone()[0]
    with warehouse.reader() as con:
        assert con.execute(setting).fetchone()[0] == written
    with warehouse.connection() as con:  # and neither is DuckDB's default, 80 % of RAM
        con.execute("reset memory_limit")
        assert con.execute(setting).fetchone()[0] != written
