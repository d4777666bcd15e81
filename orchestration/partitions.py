"""Daily partitions of the large event tables, and what a run's tags say about its days.

usage_events, subscription_events and payments land in day folders (`<table>/<YYYY-MM-DD>/`,
docs/raw-contract.md) and their raw assets are partitioned by that day: a run loads the days
of its partition key or range and keeps the other days. Everything else in the pipeline is
unpartitioned and rebuilt (or, for incremental dbt models, updated from the run's first day)
by every run.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from subscriber_warehouse.contract import DAILY_TABLES
from subscriber_warehouse.load import LoadError
from subscriber_warehouse.load.files import day_folders

PARTITION_START_ENV = "SW_PARTITION_START"
# the generator's default --start: the sample's first day is the first partition
DEFAULT_PARTITION_START = "2024-01-01"

# Dagster's own run tags for a run's partition or partition range (checked against Dagster's
# constants in tests/test_partitions.py)
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# a run that rebuilds every raw table from all its files and dbt with --full-refresh (the CLI's
# runs, and the sensor's when a bulk history file lands)
FULL_REFRESH_TAG = "subscriber_warehouse/full_refresh"

# the last partition is yesterday's (UTC): a day's exports are complete the morning after
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get(PARTITION_START_ENV, DEFAULT_PARTITION_START), timezone="UTC"
)


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags of one run over the days first..last (inclusive)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def run_days(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The first and last day of a run's partition key or range; None for an unpartitioned run."""
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        return tags[RANGE_START_TAG], tags[RANGE_END_TAG]
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG], tags[PARTITION_TAG]
    return None


def is_full_refresh(tags: Mapping[str, str]) -> bool:
    return tags.get(FULL_REFRESH_TAG) == "true"


def full_run_tags(landing: Path) -> dict[str, str]:
    """Tags of a run that rebuilds everything from a landing folder (the CLI's `run`): full
    refresh, as one partition, the newest day folder present (or the latest partition if none
    is), as the sensor's full refresh is. Every day folder loads all the same. Dagster records a
    planned and a done materialization per partition of a run: over a range of every landed day
    (730 for two years) those event writes took 53 s of a 300-customer run's 140 s."""
    days = set()
    for table in DAILY_TABLES:
        try:
            days |= set(day_folders(landing, table))
        except LoadError:
            continue  # the table's raw asset fails naming the folder
    days = sorted(d for d in days if daily_partitions.has_partition_key(d))
    newest = days[-1] if days else daily_partitions.get_last_partition_key()
    return {FULL_REFRESH_TAG: "true", PARTITION_TAG: newest}
