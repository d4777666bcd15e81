"""Loading one contract table from the landing folder into DuckDB schema `raw`.

A full load rebuilds the table from every landing file; a daily table (contract.DAILY_TABLES)
can instead replace the rows of some day folders only, keeping the other days'. Either way
loading the same files again gives the same table. Rows that break a rule go to
`raw.rejected_rows` with their reasons; every file's accounting (read = loaded + rejected) goes
to `raw.load_files`, replaced together with the rows.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from subscriber_warehouse.contract import TABLES, Table
from subscriber_warehouse.load.files import LoadError, landing_files
from subscriber_warehouse.load.stage import FileResult, stage_database, stage_files
from subscriber_warehouse.load.validate import ident, sql_str

__all__ = ["FileResult", "TableResult", "connect", "load_table"]

REJECTED_ROWS_DDL = """
create table if not exists raw.rejected_rows (
    table_name varchar not null,
    source_file varchar not null,
    source_row bigint not null,
    column_name varchar,
    reason varchar not null,
    raw_record varchar
)"""

LOAD_FILES_DDL = """
create table if not exists raw.load_files (
    table_name varchar not null,
    source_file varchar not null,
    file_format varchar not null,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_rejected bigint not null,
    unknown_columns varchar[]
)"""


@dataclass
class TableResult:
    table: str
    files: list[FileResult]
    days: list[str] | None = None  # the day folders replaced; None: the whole table

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


def connect(warehouse: Path | str, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(warehouse))
    con.execute("set TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"set memory_limit = {sql_str(memory_limit)}")
    con.execute("create schema if not exists raw")
    con.execute(REJECTED_ROWS_DDL)
    con.execute(LOAD_FILES_DDL)
    return con


def load_table(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    table: str | Table,
    now: datetime,
    days: Collection[str] | None = None,
    database: tuple[Path, str] | None = None,
) -> TableResult:
    """Replace <schema>.<table> (raw.<table> for the raw contract's) with the rows of every
    landing file of the table, or, with `days` (daily tables only), the rows of those day
    folders: the other days' rows stay. With `database` (a DuckDB file and schema holding a
    billing source's tables, as Fivetran's DuckDB destination does), the table is read from it
    instead of files."""
    table = TABLES[table] if isinstance(table, str) else table
    if days is not None and not table.day_column:
        raise ValueError(f"{table.label} is not loaded by day")
    files = [] if database else landing_files(landing, table, days)
    if days is None and not files and not database and table.required:
        raise LoadError(
            f"{landing / table.landing_folder}: no files for required table '{table.name}'"
        )
    columns = ", ".join(f"{ident(c.name)} {c.duckdb_type}" for c in table.columns)
    con.execute(
        f"create or replace temp table _staged ({columns}, _source_file varchar, "
        "_source_row bigint, _reasons varchar[], _raw_record varchar)"
    )
    if database:
        results = [stage_database(con, table, *database, now)]
    else:
        results = stage_files(con, table, files, now)
    con.execute(f"create schema if not exists {table.schema}")
    if days is None:
        _publish(con, table, results)
    else:
        _publish_days(con, table, results, sorted(days))
    return TableResult(table.label, results, None if days is None else sorted(days))


def _publish(con, table: Table, results: list[FileResult]) -> None:
    cols = ", ".join(ident(c.name) for c in table.columns)
    with _transaction(con):
        con.execute(
            f"create or replace table {table.qualified} as select {cols}, "
            f"_source_file, _source_row from _staged where len(_reasons) = 0"
        )
        for ddl_table in ("rejected_rows", "load_files"):
            con.execute(f"delete from raw.{ddl_table} where table_name = ?", [table.label])
        _insert_accounting(con, table, results)
    con.execute("drop table _staged")


def in_days(column: str, days: list[str]) -> str:
    """SQL: `column` (a `_source_file`) is in one of the day folders `days`."""
    listed = ", ".join(sql_str(d) for d in days) or "null"
    return f"(len(string_split({column}, '/')) = 3 and split_part({column}, '/', 2) in ({listed}))"


def _publish_days(con, table: Table, results: list[FileResult], days: list[str]) -> None:
    """Replace the rows and accounting of the day folders `days`; other days' stay."""
    cols = ", ".join(ident(c.name) for c in table.columns)
    with _transaction(con):
        # the first load by day of a fresh warehouse: an empty table of the right shape
        con.execute(
            f"create table if not exists {table.qualified} as select {cols}, "
            "_source_file, _source_row from _staged where false"
        )
        con.execute(f"delete from {table.qualified} where {in_days('_source_file', days)}")
        for ddl_table in ("rejected_rows", "load_files"):
            con.execute(
                f"delete from raw.{ddl_table} where table_name = ? "
                f"and {in_days('source_file', days)}",
                [table.label],
            )
        con.execute(
            f"insert into {table.qualified} select {cols}, _source_file, _source_row "
            "from _staged where len(_reasons) = 0"
        )
        _insert_accounting(con, table, results)
    con.execute("drop table _staged")


@contextmanager
def _transaction(con):
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except Exception:
        # an error that already ended the transaction (a full disk) makes rollback fail too:
        # the original error is the one to report
        with suppress(duckdb.Error):
            con.execute("rollback")
        raise


def _insert_accounting(con, table: Table, results: list[FileResult]) -> None:
    con.execute(
        "insert into raw.rejected_rows select ?, _source_file, _source_row, "
        "nullif(split_part(_reasons[1], ':', 1), _reasons[1]), "
        "array_to_string(_reasons, '; '), _raw_record "
        "from _staged where len(_reasons) > 0",
        [table.label],
    )
    # one insert for all files: a daily table has a file per day, an insert each adds up
    accounting = pa.table(
        {
            "table_name": [table.label] * len(results),
            "source_file": [r.file for r in results],
            "file_format": [r.format for r in results],
            "rows_read": pa.array([r.rows_read for r in results], pa.int64()),
            "rows_loaded": pa.array([r.rows_loaded for r in results], pa.int64()),
            "rows_rejected": pa.array([r.rows_rejected for r in results], pa.int64()),
            "unknown_columns": pa.array(
                [r.unknown_columns for r in results], pa.list_(pa.string())
            ),
        }
    )
    con.register("_accounting", accounting)
    try:
        con.execute("insert into raw.load_files select * from _accounting")
    finally:
        con.unregister("_accounting")
