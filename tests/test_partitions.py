"""Daily partitions in Dagster: the landing sensor on real day folders, the runs the CLI and dbt
derive from a run's tags, single-run backfills and the one-writer pool. The schedule's
evaluation is in test_orchestration.py; loads by day in test_daily_load.py and
test_raw_assets.py; the incremental dbt model in test_incremental_models.py."""

from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import PoolGranularity
from dagster._core.storage import tags as dagster_tags

from orchestration import partitions
from orchestration.dbt_runs import (
    INCREMENTAL_MODEL,
    INCREMENTAL_SOURCE,
    build_args,
    first_day_loaded_since_last_build,
    reprocess_from,
)
from orchestration.jobs import PIPELINE_JOB
from orchestration.partitions import FULL_REFRESH_TAG, PARTITION_TAG, full_run_tags, range_tags
from orchestration.project import prepare_manifest
from orchestration.resources import WAREHOUSE_POOL, Warehouse
from orchestration.sensors import MERGE_GAP_DAYS, landing_files_sensor

INSTANCE_CONFIG = Path(__file__).resolve().parent.parent / "orchestration" / "dagster.yaml"


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    (tmp_path / "landing").mkdir()
    return Warehouse(
        landing_dir=str(tmp_path / "landing"), warehouse_path=str(tmp_path / "wh.duckdb")
    )


def land(warehouse: Warehouse, relative: str, text: str = "event_id\nx\n") -> None:
    path = warehouse.landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class Sensor:
    """The landing sensor's evaluation function, tick after tick with the cursor carried over."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse, self.cursor = warehouse, None

    def tick(self) -> list[dg.RunRequest]:
        # the warehouse resource has a run's lifecycle (its lock): a context manager opens it
        with dg.build_sensor_context(
            cursor=self.cursor, resources={"warehouse": self.warehouse}
        ) as context:
            result = landing_files_sensor(context)
        self.cursor = result.cursor
        return list(result.run_requests or [])

    def settle(self) -> list[dg.RunRequest]:
        """Two ticks: files are seen, then trusted once their size is unchanged."""
        assert self.tick() == []
        return self.tick()


def days_of(request: dg.RunRequest) -> tuple[str, str]:
    if request.partition_key:
        return request.partition_key, request.partition_key
    return request.tags[partitions.RANGE_START_TAG], request.tags[partitions.RANGE_END_TAG]


# --- the landing sensor on day folders --------------------------------------------------------


def test_new_files_in_a_day_folder_start_a_run_of_that_day(warehouse):
    sensor = Sensor(warehouse)
    land(warehouse, "usage_events/2024-03-05/usage_events-00000.csv")
    land(warehouse, "payments/2024-03-05/payments-00000.csv")
    [request] = sensor.settle()
    assert request.partition_key == "2024-03-05"
    assert request.tags["subscriber_warehouse/new_landing_files"] == "2"
    assert FULL_REFRESH_TAG not in request.tags
    assert sensor.tick() == []


def test_a_late_file_for_an_older_day_starts_a_targeted_run_of_that_day(warehouse):
    sensor = Sensor(warehouse)
    for day in ("2024-03-01", "2024-03-02", "2024-03-03"):
        land(warehouse, f"usage_events/{day}/usage_events-00000.csv")
    [history] = sensor.settle()
    assert days_of(history) == ("2024-03-01", "2024-03-03")  # one run for the range
    # today's delivery, and a late file for 1 February: a run for each, the old day alone
    land(warehouse, "usage_events/2024-03-04/usage_events-00000.csv")
    land(warehouse, "subscription_events/2024-02-01/subscription_events-late.csv")
    requests = sensor.settle()
    assert sorted(days_of(r) for r in requests) == [
        ("2024-02-01", "2024-02-01"),
        ("2024-03-04", "2024-03-04"),
    ]
    assert len({r.run_key for r in requests}) == 2
    assert sensor.tick() == []


def test_days_at_most_a_week_apart_share_a_run(warehouse):
    sensor = Sensor(warehouse)
    near = f"2024-03-{1 + MERGE_GAP_DAYS:02d}"
    for day in ("2024-03-01", near, "2024-03-20"):
        land(warehouse, f"payments/{day}/payments-00000.csv")
    requests = sensor.settle()
    assert sorted(days_of(r) for r in requests) == [
        ("2024-03-01", near),
        ("2024-03-20", "2024-03-20"),
    ]


def test_other_tables_files_ride_with_the_newest_run_or_start_the_latest_partition(warehouse):
    sensor = Sensor(warehouse)
    land(warehouse, "customers/customers-0001.csv")
    [alone] = sensor.settle()
    assert alone.partition_key == partitions.daily_partitions.get_last_partition_key()
    land(warehouse, "customers/customers-0002.csv")
    land(warehouse, "usage_events/2024-01-02/usage_events-00000.csv")
    land(warehouse, "usage_events/2024-03-02/usage_events-00000.csv")
    requests = sensor.settle()
    by_day = {days_of(r): r for r in requests}
    assert by_day[("2024-03-02", "2024-03-02")].tags["subscriber_warehouse/new_landing_files"] == (
        "2"
    )
    assert by_day[("2024-01-02", "2024-01-02")].tags["subscriber_warehouse/new_landing_files"] == (
        "1"
    )


def test_bulk_history_under_a_daily_table_starts_one_full_refresh_run(warehouse):
    sensor = Sensor(warehouse)
    land(warehouse, "usage_events/usage_events-history.parquet", "PAR1")
    land(warehouse, "usage_events/2024-03-02/usage_events-00000.csv")
    [request] = sensor.settle()
    assert request.tags[FULL_REFRESH_TAG] == "true"
    assert request.tags["subscriber_warehouse/new_landing_files"] == "2"


def test_a_day_folder_that_is_no_partition_yet_waits(warehouse):
    sensor = Sensor(warehouse)
    land(warehouse, "usage_events/2999-01-01/usage_events-00000.csv")  # "today", in the future
    for _ in range(3):
        assert sensor.tick() == []
    assert "usage_events/2999-01-01/usage_events-00000.csv" in sensor.cursor
    land(warehouse, "usage_events/2024-03-02/usage_events-00000.csv")
    [request] = sensor.settle()
    assert request.partition_key == "2024-03-02"


def test_a_folder_the_loader_rejects_does_not_stop_the_sensor(warehouse):
    sensor = Sensor(warehouse)
    land(warehouse, "usage_events/March/usage_events-00000.csv")
    land(warehouse, "payments/2024-03-02/payments-00000.csv")
    [request] = sensor.settle()
    assert request.partition_key == "2024-03-02"


# --- what a run's tags mean -------------------------------------------------------------------


def test_the_partition_tags_are_dagsters():
    assert partitions.PARTITION_TAG == dagster_tags.PARTITION_NAME_TAG
    assert partitions.RANGE_START_TAG == dagster_tags.ASSET_PARTITION_RANGE_START_TAG
    assert partitions.RANGE_END_TAG == dagster_tags.ASSET_PARTITION_RANGE_END_TAG


def test_dbt_rebuilds_incremental_models_from_the_runs_first_day():
    assert reprocess_from({partitions.PARTITION_TAG: "2024-03-05"}) == "2024-03-05"
    assert reprocess_from(range_tags("2024-03-01", "2024-03-05")) == "2024-03-01"
    full_refresh = {FULL_REFRESH_TAG: "true", **range_tags("2024-03-01", "2024-03-05")}
    assert reprocess_from(full_refresh) == ""
    unit_tests_out = ["--exclude-resource-type", "unit_test"]
    assert build_args(full_refresh) == ["build", *unit_tests_out, "--full-refresh"]
    assert reprocess_from({}) == ""
    assert build_args({partitions.PARTITION_TAG: "2024-03-05"}) == ["build", *unit_tests_out]
    # days loaded since the last build that the run's own days do not cover
    assert reprocess_from({partitions.PARTITION_TAG: "2024-03-05"}, "2024-02-01") == "2024-02-01"
    assert reprocess_from({partitions.PARTITION_TAG: "2024-03-05"}, "2024-03-09") == "2024-03-05"
    assert reprocess_from({}, "2024-02-01") == "2024-02-01"


def test_dbt_catches_up_on_days_loaded_since_the_incremental_models_last_build():
    def materialized(instance, key, partition=None):
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))

    with dg.DagsterInstance.ephemeral() as instance:
        assert first_day_loaded_since_last_build(instance) is None
        materialized(instance, INCREMENTAL_SOURCE, "2024-03-01")
        assert first_day_loaded_since_last_build(instance) == "2024-03-01"  # never built
        materialized(instance, INCREMENTAL_MODEL)
        assert first_day_loaded_since_last_build(instance) is None
        # a run whose dbt step failed, then a backfill of the raw table alone
        for day in ("2024-03-02", "2024-02-10", "2024-02-11"):
            materialized(instance, INCREMENTAL_SOURCE, day)
        assert first_day_loaded_since_last_build(instance) == "2024-02-10"
        materialized(instance, INCREMENTAL_MODEL)
        assert first_day_loaded_since_last_build(instance) is None


def test_the_cli_runs_a_full_refresh_as_the_newest_day_folder_present(tmp_path):
    landing = tmp_path / "landing"
    for relative in (
        "usage_events/2024-02-01",
        "payments/2024-01-15",
        "usage_events/2023-12-31",  # before the first partition: loaded, not a partition
        "customers",
    ):
        (landing / relative).mkdir(parents=True)
    assert full_run_tags(landing) == {FULL_REFRESH_TAG: "true", PARTITION_TAG: "2024-02-01"}
    last = partitions.daily_partitions.get_last_partition_key()
    assert full_run_tags(tmp_path / "no-day-folders") == {
        FULL_REFRESH_TAG: "true",
        PARTITION_TAG: last,
    }


# --- backfills and the one-writer pool --------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline() -> dg.JobDefinition:
    prepare_manifest()
    from orchestration.definitions import defs

    return defs.resolve_job_def(PIPELINE_JOB)


def test_a_backfill_of_the_pipeline_runs_each_range_in_one_run(pipeline):
    assert pipeline.partitions_def == partitions.daily_partitions
    # Dagster launches one run per selected range for a single-run policy
    assert pipeline.backfill_policy == dg.BackfillPolicy.single_run()


def test_every_step_that_opens_the_working_database_is_in_the_writer_pool(pipeline):
    pools = {node.name: node.definition.pool for node in pipeline.graph.node_dict.values()}
    # the report reads the published file only, which is replaced by a rename (the exports read
    # the working database's e-mail addresses too)
    readers_of_the_published_file = {"report__metrics_report"}
    assert {n for n, p in pools.items() if p != WAREHOUSE_POOL} == readers_of_the_published_file
    assert len(pools) > 20  # raw loads, gates, dbt, predictive models, publish


def test_the_instance_config_limits_the_pool_to_one_run_at_a_time():
    config = yaml.safe_load(INSTANCE_CONFIG.read_text())
    with dg.instance_for_test(overrides=config) as instance:
        pools = instance.get_concurrency_config().pool_config
    assert pools.default_pool_limit == 1
    assert pools.pool_granularity == PoolGranularity.RUN
