"""Dagster's SQLite event log, with each database's connection kept open between events.

Dagster's own (SqliteEventLogStorage) makes an engine, opens the database, commits and closes it
for every write: a run of the pipeline stores about 770 events, in about 2,100 connections, and
closing a WAL database's last connection checkpoints it. A 1,500-customer run took 5.5 s longer
with it than with the in-memory instance. Kept open, a commit appends to the write-ahead log.

The files, tables and migrations are Dagster's: a DAGSTER_HOME written by either class is read by
the other. orchestration/dagster.yaml selects this class.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster._config import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

# databases open at once: a run writes its own and the index; the web server reads a few runs
KEPT_OPEN = 8
INDEX_SHARD = "index"


def _pragmas(dbapi_connection, _record) -> None:
    # in WAL mode NORMAL loses no consistency, only the newest commits on a power cut: an event
    # log's trade (FULL syncs the log on every one of the run's commits)
    dbapi_connection.execute("pragma synchronous=NORMAL")


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """Configured with `dagster_home` (the event logs are in its history/runs, as by default)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls):
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(os.path.join(config_value["dagster_home"], "history", "runs"), inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as conn:
            changes = conn.connection.dbapi_connection.total_changes
            with conn.begin():
                yield conn
            if shard != INDEX_SHARD and conn.connection.dbapi_connection.total_changes > changes:
                # Dagster's watchers (the UI's live run view) follow the run's .db file, which
                # only a checkpoint changes
                conn.exec_driver_sql("pragma wal_checkpoint(passive)")

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            db.event.listen(engine, "connect", _pragmas)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > KEPT_OPEN:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def _close_all(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._close_all()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_all()
