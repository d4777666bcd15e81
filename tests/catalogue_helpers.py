"""Landings, runs and look-ups shared by the bad-input catalogue (test_bad_input_catalogue.py)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flow import query
from rows import VALID, land_minimal, row, write_csv

from orchestration.pipeline import PipelineFailed, run_pipeline
from orchestration.quality_report import report_path
from subscriber_warehouse.publish import working_path

LOAD_TIME = "2024-06-01T00:00:00Z"
NOW = datetime(2024, 6, 1, 0, 0, 0)  # LOAD_TIME as the loader takes it (naive UTC)
WAREHOUSE_NAME = "warehouse.duckdb"

# The baseline's subscription history, January to May 2024, all USD (month-end MRR):
#   sub_1 cus_1 pro   3 seats, 10 % off: 132.30 from Jan; 4 seats from 2024-03-10: 176.40
#   sub_2 cus_2 basic trial 2024-01-20, active 2024-02-03: 19.00; canceled 2024-04-15
#   sub_3 cus_3 pro   2 seats from 2024-02-01: 98.00; 20 % off from 2024-05-31: 78.40
# month-end MRR: Jan 132.30, Feb 249.30, Mar 293.40, Apr 274.40, May 254.80
# The newest event is 12 hours before LOAD_TIME, so the freshness check passes too.
BASELINE_EVENTS = [
    row("subscription_events"),  # evt_1: sub_1 created 2024-01-05, 3 seats, 10 % off
    row(
        "subscription_events",
        event_id="evt_2",
        subscription_id="sub_2",
        customer_id="cus_2",
        event_type="trial_started",
        status="trialing",
        occurred_at="2024-01-20T08:00:00Z",
        plan_id="basic-monthly-usd",
        quantity="1",
        discount_pct="",
    ),
    row(
        "subscription_events",
        event_id="evt_3",
        subscription_id="sub_2",
        customer_id="cus_2",
        event_type="activated",
        status="active",
        occurred_at="2024-02-03T08:00:00Z",
        plan_id="basic-monthly-usd",
        quantity="1",
        discount_pct="",
    ),
    row(
        "subscription_events",
        event_id="evt_4",
        subscription_id="sub_3",
        customer_id="cus_3",
        occurred_at="2024-02-01T12:00:00Z",
        quantity="2",
        discount_pct="",
    ),
    row(
        "subscription_events",
        event_id="evt_5",
        event_type="quantity_changed",
        occurred_at="2024-03-10T09:00:00Z",
        quantity="4",
    ),
    row(
        "subscription_events",
        event_id="evt_6",
        subscription_id="sub_2",
        customer_id="cus_2",
        event_type="canceled",
        status="canceled",
        occurred_at="2024-04-15T16:00:00Z",
        plan_id="basic-monthly-usd",
        quantity="1",
        discount_pct="",
        cancel_reason="too_expensive",
    ),
    row(
        "subscription_events",
        event_id="evt_7",
        subscription_id="sub_3",
        customer_id="cus_3",
        event_type="discount_changed",
        occurred_at="2024-05-31T12:00:00Z",
        quantity="2",
        discount_pct="20",
    ),
]
BASELINE_USAGE_ROWS = 20  # enough for a tenfold drop


def land_baseline(landing: Path) -> Path:
    """land_minimal plus three customers, two plans and a five-month subscription history."""
    land_minimal(landing)
    write_csv(
        landing / "customers" / "customers-0001.csv",
        [
            VALID["customers"],
            row("customers", customer_id="cus_2", email="ben@example.com", country="DE"),
            row("customers", customer_id="cus_3", email="cai@example.com", country="US"),
        ],
    )
    write_csv(
        landing / "plans" / "plans-0001.csv",
        [
            VALID["plans"],
            row(
                "plans",
                plan_id="basic-monthly-usd",
                plan_name="Basic monthly",
                tier="starter",
                unit_amount="19.00",
            ),
        ],
    )
    write_csv(landing / "subscription_events" / "subscription_events-0001.csv", BASELINE_EVENTS)
    write_csv(
        landing / "usage_events" / "usage_events-0001.csv",
        [row("usage_events", event_id=f"use_{i}") for i in range(1, BASELINE_USAGE_ROWS + 1)],
    )
    return landing


@dataclass(frozen=True)
class Baseline:
    """A landing folder and the warehouse a successful run published from it."""

    landing: Path
    published: Path

    @property
    def bytes(self) -> bytes:
        return self.published.read_bytes()


def build_baseline(root: Path) -> Baseline:
    landing = land_baseline(root / "landing")
    published = root / "warehouse" / WAREHOUSE_NAME
    run_pipeline(landing, published, load_time=LOAD_TIME)
    return Baseline(landing, published)


@dataclass(frozen=True)
class Case:
    """A copy of the baseline (landing, published file, working database) to break."""

    landing: Path
    published: Path
    baseline_bytes: bytes

    def run(self) -> str:
        return run_pipeline(self.landing, self.published, load_time=LOAD_TIME)

    def run_failing(self) -> PipelineFailed:
        try:
            self.run()
        except PipelineFailed as failed:
            return failed
        raise AssertionError("the run succeeded; a gate or a step should have stopped it")

    @property
    def unchanged(self) -> bool:
        return self.published.read_bytes() == self.baseline_bytes

    def quality(self) -> dict:
        return json.loads(report_path(self.published).read_text())

    def published_rows(self, sql: str) -> list[tuple]:
        return query(self.published, sql)

    def working_rows(self, sql: str) -> list[tuple]:
        return query(working_path(self.published), sql)


def copy_baseline(baseline: Baseline, root: Path) -> Case:
    landing = root / "landing"
    shutil.copytree(baseline.landing, landing)
    shutil.copytree(baseline.published.parent, root / "warehouse", symlinks=True)
    published = root / "warehouse" / WAREHOUSE_NAME
    return Case(landing, published, baseline.bytes)


def failed_gate(report: dict, asset: str) -> dict:
    """The failed check of `asset` (e.g. 'raw/subscription_events') in a quality report."""
    [found] = [c for c in report["results"] if c["asset"] == asset and not c["passed"]]
    return found
