"""Where the pipeline reads landing files and writes the warehouse."""

from __future__ import annotations

import os
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from subscriber_warehouse.load import connect
from subscriber_warehouse.lock import warehouse_lock
from subscriber_warehouse.publish import make_working_folder, working_path
from subscriber_warehouse.sources import NATIVE, billing_sources

BILLING_SOURCE_ENV = "SW_BILLING_SOURCE"

# DuckDB allows one process to open a database file for writing, and then no other process may
# open it at all. Every step that opens the working database (raw loads, gates, dbt, the
# predictive models, publishing) is in this Dagster pool; with its limit at 1 (README, "Running
# in production") runs queue instead of failing on the file lock.
WAREHOUSE_POOL = "duckdb_writer"


def env_memory_limit() -> str:
    """DuckDB's memory_limit for every connection: SW_MEMORY_LIMIT, else profiles.yml's default."""
    return os.environ.get("SW_MEMORY_LIMIT", "4GB")


class Warehouse(dg.ConfigurableResource):
    """The landing folder, the published DuckDB file BI reads, and the pipeline's private copy."""

    landing_dir: str
    warehouse_path: str
    # native (the raw contract's billing tables) or a billing system's own tables
    # (subscriber_warehouse/sources.py); from a DuckDB database instead of files when
    # source_database names one (Fivetran's DuckDB destination)
    billing_source: str = NATIVE
    source_database: str = ""
    memory_limit: str = "4GB"  # as env_memory_limit()
    # the moment future-dated rows are judged against; empty means the run's start
    load_time: str = ""
    _run_lock: ExitStack | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run holds its warehouse from start to end (subscriber_warehouse/lock.py): a second
        run, whoever started it, fails at once naming the first. A sensor's or schedule's
        evaluation only reads the landing folder: it takes nothing."""
        if context.run is None:
            return
        self._run_lock = ExitStack()
        self._run_lock.enter_context(warehouse_lock(self.published, context.run.run_id))

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.close()
            self._run_lock = None

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir).resolve()

    @property
    def published(self) -> Path:
        return Path(self.warehouse_path).resolve()

    @property
    def path(self) -> Path:
        """The working database: only the pipeline opens it."""
        return working_path(self.published)

    @property
    def source_tables_database(self) -> tuple[Path, str] | None:
        """The DuckDB file and schema the billing source's tables are read from, if not files."""
        if not self.source_database:
            return None
        schema = billing_sources()[self.billing_source].database_schema or self.billing_source
        return Path(self.source_database).resolve(), schema

    def now(self) -> datetime:
        return load_instant(self.load_time)

    @contextmanager
    def reader(self):
        con = duckdb.connect(str(self.path), read_only=True)
        # the gates' group-bys over 100M rows took 9 GiB under DuckDB's default (80 % of RAM)
        con.execute(f"set memory_limit = '{self.memory_limit}'")
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def connection(self):
        make_working_folder(self.published)
        con = connect(self.path, self.memory_limit)
        try:
            yield con
        finally:
            con.close()


def load_instant(load_time: str = "") -> datetime:
    """The instant future-dated rows are judged against, naive UTC: `load_time` (ISO-8601; a
    time without an offset is UTC, as the raw contract says of every timestamp, never the
    machine's zone), or now."""
    if not load_time:
        return datetime.now(UTC).replace(tzinfo=None)
    instant = datetime.fromisoformat(load_time)
    if instant.tzinfo is not None:
        instant = instant.astimezone(UTC).replace(tzinfo=None)
    return instant


def env_billing_source() -> str:
    """The run's billing source: SW_BILLING_SOURCE (the CLI's --source), else native. dbt reads
    the same variable (macros/billing_source.sql)."""
    return os.environ.get(BILLING_SOURCE_ENV, NATIVE)


def default_warehouse() -> Warehouse:
    return Warehouse(
        landing_dir=os.environ.get("SW_LANDING_DIR", "data/landing"),
        warehouse_path=os.environ.get("SW_WAREHOUSE", "data/warehouse.duckdb"),
        billing_source=env_billing_source(),
        source_database=os.environ.get("SW_SOURCE_DATABASE", ""),
        memory_limit=env_memory_limit(),
        load_time=os.environ.get("SW_LOAD_TIME", ""),
    )
