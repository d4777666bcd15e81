"""Start the pipeline when new files land in `<landing>/<table>/` or its day folders.

Landing convention (docs/raw-contract.md): producers write under a temporary name
(`name.csv.tmp`, `name.csv.part` or `.name.csv`) and rename it into place when complete. The
sensor only sees names the loader would load, so a file being written is invisible to both. As a
second guard for producers that write in place, a file triggers only once its size is the same
on two evaluations in a row: a file seen for the first time is recorded and waits.

The cursor (JSON) holds name -> size of the files waiting and of the files already picked up, so
a file triggers one run only; the run key hashes the run's new files, so the same files never
trigger twice even if the cursor is reset.

Which runs (orchestration/partitions.py): new files in the day folders of the daily tables
start a run of those days' partitions. Days at most MERGE_GAP_DAYS apart share one run (a
first landing of two years of history is one run, not 730); a late file for an older day is a
run of that day alone: a targeted backfill, next to the run of today's files. New files of the
other tables ride along (every run reloads those tables), or, alone, start a run of the latest
partition. A new top-level (bulk history) file of a daily table starts one full-refresh run.
A day folder that is not a partition yet (today's, until midnight UTC) waits.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from orchestration.jobs import PIPELINE_JOB
from orchestration.partitions import FULL_REFRESH_TAG, daily_partitions, range_tags
from orchestration.resources import Warehouse
from subscriber_warehouse.contract import DAILY_TABLES
from subscriber_warehouse.landing import inventory
from subscriber_warehouse.load import LoadError, landing_files
from subscriber_warehouse.sources import NATIVE, raw_tables

MERGE_GAP_DAYS = 7
NEW_FILES_TAG = "subscriber_warehouse/new_landing_files"


def landed_file_sizes(
    landing: Path, billing_source: str = NATIVE
) -> tuple[dict[str, int], list[str]]:
    """Size of every file the loader would load, by its path under the landing folder, and the
    problems (folders the loader rejects: their table's run would fail naming them)."""
    sizes, problems = {}, []
    for table in raw_tables(billing_source):
        try:
            files = landing_files(landing, table)
        except LoadError as e:
            problems.append(str(e))
            continue
        for file in files:
            try:
                sizes[file.relative] = file.path.stat().st_size
            except FileNotFoundError:  # renamed or removed since it was listed
                continue
    return sizes, problems


@dataclass
class LandingCursor:
    waiting: dict[str, int] = field(default_factory=dict)  # seen once at this size
    picked_up: dict[str, int] = field(default_factory=dict)  # already in a requested run

    @classmethod
    def parse(cls, raw: str | None) -> "LandingCursor":
        return cls(**json.loads(raw)) if raw else cls()

    def to_json(self) -> str:
        return json.dumps({"waiting": self.waiting, "picked_up": self.picked_up}, sort_keys=True)

    def advance(self, sizes: dict[str, int]) -> tuple[dict[str, int], "LandingCursor"]:
        """The files ready to load now (name -> size), and the cursor for the next evaluation."""
        ready, waiting = {}, {}
        for name, size in sorted(sizes.items()):
            if self.picked_up.get(name) == size:
                continue
            if self.waiting.get(name) == size:
                ready[name] = size
            else:  # new, or still growing
                waiting[name] = size
        # a file that is gone, or was replaced with other contents, is forgotten: landing it
        # again is a new delivery
        picked_up = {name: size for name, size in self.picked_up.items() if sizes.get(name) == size}
        return ready, LandingCursor(waiting, {**picked_up, **ready})

    def defer(self, files: dict[str, int]) -> "LandingCursor":
        """Keep ready files waiting (not picked up): they trigger on a later evaluation."""
        picked_up = {n: s for n, s in self.picked_up.items() if n not in files}
        return LandingCursor({**self.waiting, **files}, picked_up)


def run_key(files: dict[str, int]) -> str:
    listing = "\n".join(f"{name}\t{size}" for name, size in sorted(files.items()))
    return "landing-" + hashlib.sha256(listing.encode()).hexdigest()[:20]


def file_day(name: str) -> str | None:
    """The day folder of a daily table's file (`<table>/<day>/<file>`); None for other files."""
    parts = name.split("/")
    return parts[1] if len(parts) == 3 and parts[0] in DAILY_TABLES else None


def is_bulk(name: str) -> bool:
    """A file directly in a daily table's folder: a one-off delivery of history."""
    parts = name.split("/")
    return len(parts) == 2 and parts[0] in DAILY_TABLES


def day_runs(days: list[str]) -> list[tuple[str, str]]:
    """Sorted days grouped into (first, last) ranges: days at most MERGE_GAP_DAYS apart share
    a range (reloading the few unchanged days between them is cheaper than another run)."""
    runs: list[tuple[str, str]] = []
    for day in days:
        if runs and (date.fromisoformat(day) - date.fromisoformat(runs[-1][1])).days <= (
            MERGE_GAP_DAYS
        ):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def run_request(files: dict[str, int], first: str, last: str, tags: dict) -> dg.RunRequest:
    tags = {NEW_FILES_TAG: str(len(files)), **tags}
    if first == last:
        return dg.RunRequest(run_key=run_key(files), partition_key=first, tags=tags)
    return dg.RunRequest(run_key=run_key(files), tags={**tags, **range_tags(first, last)})


def plan_runs(ready: dict[str, int]) -> tuple[list[dg.RunRequest], dict[str, int]]:
    """The runs that load the ready files, and the ready files that must wait (day folders that
    are no partition yet, or before the first one)."""
    later = {n: s for n, s in ready.items() if file_day(n) and not _is_partition(file_day(n))}
    ready = {n: s for n, s in ready.items() if n not in later}
    if not ready:
        return [], later
    last_partition = daily_partitions.get_last_partition_key()
    if any(is_bulk(n) for n in ready):
        # history under a daily table: rebuild everything from every file, in one run
        return [run_request(ready, last_partition, last_partition, {FULL_REFRESH_TAG: "true"})], (
            later
        )
    by_day: dict[str, dict[str, int]] = {}
    rest = {}
    for name, size in ready.items():
        day = file_day(name)
        if day:
            by_day.setdefault(day, {})[name] = size
        else:
            rest[name] = size
    ranges = day_runs(sorted(by_day)) or [(last_partition, last_partition)]
    requests = []
    for i, (first, last) in enumerate(ranges):
        files = {n: s for d, fs in by_day.items() if first <= d <= last for n, s in fs.items()}
        if i == len(ranges) - 1:  # the newest run also loads the other tables' new files
            files |= rest
        requests.append(run_request(files, first, last, {}))
    return requests, later


def _is_partition(day: str) -> bool:
    return daily_partitions.has_partition_key(day)


@dg.sensor(
    job_name=PIPELINE_JOB,
    # two evaluations a minute apart: a copy still in progress changes size in that time
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the pipeline for new landing files whose size has settled (*.tmp, *.part "
    "and dot-files are ignored): a run of the days of new day-folder files (a late file for an "
    "older day: a run of that day), a full-refresh run for new bulk history.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    found = inventory(warehouse.landing, warehouse.billing_source)
    for warning in found.warnings:
        context.log.warning(f"landing: {warning}")
    if found.errors:
        # a run now would skip these entries' rows: nothing starts until they are fixed
        return dg.SensorResult(
            skip_reason="landing folder problems: " + "; ".join(found.errors),
            cursor=context.cursor,
        )
    sizes, problems = landed_file_sizes(warehouse.landing, warehouse.billing_source)
    for problem in problems:
        context.log.warning(f"landing folder problem (its table's load will fail): {problem}")
    ready, cursor = LandingCursor.parse(context.cursor).advance(sizes)
    requests, later = plan_runs(ready)
    cursor = cursor.defer(later)
    if later:
        context.log.info(f"waiting for their day's partition: {', '.join(sorted(later))}")
    if not requests:
        waiting = f"; {len(cursor.waiting)} waiting for their size to settle or their day"
        return dg.SensorResult(
            skip_reason=f"no new landing files{waiting if cursor.waiting else ''}",
            cursor=cursor.to_json(),
        )
    context.log.info(f"new landing files: {', '.join(n for n in ready if n not in later)}")
    return dg.SensorResult(run_requests=requests, cursor=cursor.to_json())
