"""fct_usage_daily is incremental: runs by day give the table a full rebuild gives.

Real dbt on a scratch DuckDB: raw.usage_events loaded by day (as the partitioned raw asset does),
then `dbt run` with the first day the Dagster run passes (SW_REPROCESS_FROM), compared with
`--full-refresh` on a copy.
"""

import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from rows import row, write_csv

from orchestration.dbt_runs import REPROCESS_FROM_ENV
from subscriber_warehouse.load import connect, load_table

ROOT = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).parent / "dbt")
NOW = datetime(2024, 6, 1)
FIRST_DAY = date(2024, 1, 1)
DAYS = 20  # 2024-01-01 .. 2024-01-20
MODELS = ["stg_product__usage_events", "fct_usage_daily"]


def day(n: int) -> str:
    """The n-th day of the history, 1-based."""
    return (FIRST_DAY + timedelta(days=n - 1)).isoformat()


def land_usage(landing: Path, folder: int, name: str, occurred: list[int], prefix: str) -> None:
    """A file in day folder `folder` with one event on each day of `occurred`."""
    write_csv(
        landing / "usage_events" / day(folder) / name,
        [
            row(
                "usage_events",
                event_id=f"{prefix}_{i}",
                customer_id=f"cus_{i % 3}",
                occurred_at=f"{day(d)}T{8 + i % 10:02d}:00:00Z",
                event_name=("login", "report_exported")[i % 2],
                quantity=str(i % 4) if i % 4 else "",
            )
            for i, d in enumerate(occurred)
        ],
    )


class Warehouse:
    def __init__(self, root: Path):
        self.root, self.landing, self.path = root, root / "landing", root / "wh.duckdb"

    def load(self, days: list[int] | None) -> None:
        con = connect(self.path)
        try:
            listed = None if days is None else [day(d) for d in days]
            load_table(con, self.landing, "usage_events", NOW, days=listed)
        finally:
            con.close()

    def dbt_run(self, path: Path, *args: str, reprocess_from: str = "") -> None:
        env = {**os.environ, "SW_WAREHOUSE": str(path), REPROCESS_FROM_ENV: reprocess_from}
        done = subprocess.run(
            [DBT, "run", "--select", *MODELS, "--project-dir", str(ROOT)]
            + ["--profiles-dir", str(ROOT), "--target-path", str(self.root / "target")]
            + ["--log-path", str(self.root / "logs"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-3000:]

    def run_partition(self, first_day: int) -> None:
        """What a partitioned Dagster run does: load its days, then dbt from its first day."""
        self.load([first_day])
        self.dbt_run(self.path, reprocess_from=day(first_day))

    def usage_daily(self, path: Path | None = None) -> list[tuple]:
        con = duckdb.connect(str(path or self.path), read_only=True)
        try:
            return con.execute("select * from marts.fct_usage_daily order by all").fetchall()
        finally:
            con.close()

    def full_rebuild(self) -> list[tuple]:
        """fct_usage_daily as `--full-refresh` builds it from the same raw tables."""
        copy = self.root / "full.duckdb"
        shutil.copy(self.path, copy)
        self.dbt_run(copy, "--full-refresh")
        return self.usage_daily(copy)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    wh = Warehouse(tmp_path_factory.mktemp("incremental"))
    for d in range(1, DAYS + 1):
        land_usage(wh.landing, d, "usage_events-0001.csv", [d] * (1 + d % 4), f"u{d}")
    wh.load(None)
    wh.dbt_run(wh.path)  # the first build: everything
    return wh


def test_late_rows_in_todays_delivery_inside_and_outside_the_lookback(warehouse):
    before = warehouse.usage_daily()
    # day 20's second file: one row 5 days late (inside the 7-day lookback), one 18 days late
    land_usage(warehouse.landing, DAYS, "usage_events-0002.csv", [DAYS - 5, 2], "late")
    warehouse.run_partition(DAYS)
    after = warehouse.usage_daily()
    assert after != before
    assert {r[1].isoformat() for r in set(after) - set(before)} == {day(DAYS - 5), day(2)}
    assert after == warehouse.full_rebuild()


def test_a_late_file_for_an_older_day_is_rebuilt_by_that_days_run(warehouse):
    # a file delivered today into day 3's folder: the sensor starts a run of day 3's partition
    land_usage(warehouse.landing, 3, "usage_events-0002.csv", [3, 3, 1], "older")
    before = warehouse.usage_daily()
    warehouse.run_partition(3)
    after = warehouse.usage_daily()
    assert after == warehouse.full_rebuild()

    def events_on(table, n):
        return sum(r[3] for r in table if r[1].isoformat() == day(n))

    # day 3 gains two events, and day 1 one: older than day 3 and than the lookback
    assert [events_on(after, n) - events_on(before, n) for n in (1, 2, 3)] == [1, 0, 2]
