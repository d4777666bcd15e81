"""Start the pipeline when new files land in `<landing>/<table>/*.csv|*.parquet`.

Landing convention (docs/raw-contract.md): producers write under a temporary name
(`name.csv.tmp`, `name.csv.part` or `.name.csv`) and rename it into place when complete. The
sensor only sees names the loader would load, so a file being written is invisible to both. As a
second guard for producers that write in place, a file triggers only once its size is the same
on two evaluations in a row: a file seen for the first time is recorded and waits.

The cursor (JSON) holds name -> size of the files waiting and of the files already picked up, so
a file triggers one run only; the run key hashes the new files, so the same files never trigger
twice even if the cursor is reset.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration.resources import Warehouse
from orchestration.schedules import PIPELINE_JOB
from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load.files import landing_files


def landed_file_sizes(landing: Path) -> dict[str, int]:
    """Size of every file the loader would load, by `<table>/<file name>`."""
    sizes = {}
    for table in TABLES:
        for file in landing_files(landing, table):
            try:
                sizes[file.relative] = file.path.stat().st_size
            except FileNotFoundError:  # renamed or removed since it was listed
                continue
    return sizes


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


def run_key(files: dict[str, int]) -> str:
    listing = "\n".join(f"{name}\t{size}" for name, size in sorted(files.items()))
    return "landing-" + hashlib.sha256(listing.encode()).hexdigest()[:20]


@dg.sensor(
    job_name=PIPELINE_JOB,
    # two evaluations a minute apart: a copy still in progress changes size in that time
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Runs the pipeline once for new landing files whose size has settled "
    "(*.tmp, *.part and dot-files are ignored).",
)
def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    ready, cursor = LandingCursor.parse(context.cursor).advance(
        landed_file_sizes(warehouse.landing)
    )
    if not ready:
        waiting = f"; {len(cursor.waiting)} waiting for their size to settle"
        return dg.SensorResult(
            skip_reason=f"no new landing files{waiting if cursor.waiting else ''}",
            cursor=cursor.to_json(),
        )
    context.log.info(f"new landing files: {', '.join(ready)}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key(ready),
                tags={"subscriber_warehouse/new_landing_files": str(len(ready))},
            )
        ],
        cursor=cursor.to_json(),
    )
