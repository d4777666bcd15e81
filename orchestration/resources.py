"""Where the pipeline reads landing files and writes the warehouse."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from subscriber_warehouse.load import connect


class Warehouse(dg.ConfigurableResource):
    """The landing folder and the pipeline's private DuckDB working database."""

    landing_dir: str
    warehouse_path: str
    memory_limit: str = "6GB"
    # the moment future-dated rows are judged against; empty means the run's start
    load_time: str = ""

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir).resolve()

    @property
    def path(self) -> Path:
        return Path(self.warehouse_path).resolve()

    def now(self) -> datetime:
        if self.load_time:
            return datetime.fromisoformat(self.load_time).astimezone(UTC).replace(tzinfo=None)
        return datetime.now(UTC).replace(tzinfo=None)

    @contextmanager
    def connection(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = connect(self.path, self.memory_limit)
        try:
            yield con
        finally:
            con.close()


def default_warehouse() -> Warehouse:
    return Warehouse(
        landing_dir=os.environ.get("SW_LANDING_DIR", "data/landing"),
        warehouse_path=os.environ.get("SW_WAREHOUSE", "data/warehouse.duckdb"),
        memory_limit=os.environ.get("SW_MEMORY_LIMIT", "6GB"),
        load_time=os.environ.get("SW_LOAD_TIME", ""),
    )
