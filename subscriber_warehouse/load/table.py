"""Loading one contract table from the landing folder into DuckDB schema `raw`.

A full load rebuilds the table from every landing file; a daily table (contract.DAILY_TABLES)
can instead replace the rows of some day folders only, keeping the other days'. Either way
loading the same files again gives the same table. Rows that break a rule go to
`raw.rejected_rows` with their reasons; every file's accounting (read = loaded + rejected) goes
to `raw.load_files`, replaced together with the rows.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from subscriber_warehouse.contract import TABLES, Table
from subscriber_warehouse.load.files import (
    LandingFile,
    LoadError,
    csv_batches,
    csv_header,
    landing_files,
)
from subscriber_warehouse.load.validate import checked_select, ident, sql_str

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
class FileResult:
    file: str
    format: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    unknown_columns: list[str] = field(default_factory=list)


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
    name: str,
    now: datetime,
    days: Collection[str] | None = None,
) -> TableResult:
    """Replace raw.<name> with the rows of every landing file of the table, or, with `days`
    (daily tables only), the rows of those day folders: the other days' rows stay."""
    table = TABLES[name]
    if days is not None and not table.day_column:
        raise ValueError(f"{name} is not loaded by day")
    files = landing_files(landing, name, days)
    if days is None and not files and table.required:
        raise LoadError(f"{landing / name}: no files for required table '{name}'")
    columns = ", ".join(f"{ident(c.name)} {c.duckdb_type}" for c in table.columns)
    con.execute(
        f"create or replace temp table _staged ({columns}, _source_file varchar, "
        "_source_row bigint, _reasons varchar[], _raw_record varchar)"
    )
    results = [_stage_file(con, table, f, now) for f in files]
    if days is None:
        _publish(con, table, results)
    else:
        _publish_days(con, table, results, sorted(days))
    return TableResult(name, results, None if days is None else sorted(days))


def _present_columns(table: Table, file: LandingFile, header: list[str]) -> tuple[dict, list]:
    lowered = [h.strip().lower() for h in header]
    dupes = sorted({h for h in lowered if lowered.count(h) > 1})
    if dupes:
        raise LoadError(f"{file.relative}: column {dupes[0]!r} appears more than once")
    by_lower = dict(zip(lowered, header, strict=True))
    present = {c.name: by_lower[c.name] for c in table.columns if c.name in by_lower}
    missing = [c.name for c in table.columns if not c.nullable and c.name not in present]
    if missing:
        raise LoadError(
            f"{file.relative}: missing required column {missing[0]!r} "
            f"(required: {', '.join(c.name for c in table.columns if not c.nullable)})"
        )
    known = set(table.column_names)
    unknown = [h for h, lo in zip(header, lowered, strict=True) if lo not in known]
    return present, unknown


def _stage_file(con, table: Table, file: LandingFile, now: datetime) -> FileResult:
    result = FileResult(file.relative, file.format)
    if file.format == "csv":
        present, result.unknown_columns = _present_columns(table, file, csv_header(file))
        for batch in csv_batches(file):
            con.register("_batch", batch.rows)
            _insert_checked(con, table, file, present, "_batch", now)
            con.unregister("_batch")
            _insert_malformed(con, file, batch.malformed)
    else:
        source = f"read_parquet({sql_str(str(file.path))}, file_row_number = true)"
        try:
            header = [r[0] for r in con.execute(f"describe select * from {source}").fetchall()]
        except duckdb.Error as e:
            raise LoadError(f"{file.relative}: cannot read Parquet: {e}") from None
        header.remove("file_row_number")
        present, result.unknown_columns = _present_columns(table, file, header)
        numbered = f"(select *, file_row_number + 1 as _source_row from {source})"
        _insert_checked(con, table, file, present, numbered, now)
    result.rows_read, result.rows_rejected = con.execute(
        "select count(*), count(*) filter (len(_reasons) > 0) from _staged where _source_file = ?",
        [file.relative],
    ).fetchall()[0]
    result.rows_loaded = result.rows_read - result.rows_rejected
    return result


def _insert_checked(con, table: Table, file: LandingFile, present, source: str, now) -> None:
    select = checked_select(table, present, source, now)
    cols = ", ".join(ident(c) for c in table.column_names)
    con.execute(
        f"insert into _staged ({cols}, _source_row, _reasons, _raw_record, _source_file) "
        f"select *, {sql_str(file.relative)} from ({select})"
    )


def _insert_malformed(con, file: LandingFile, malformed) -> None:
    """Rows whose shape is wrong never reach typing: they are staged with their reason."""
    if malformed:
        con.executemany(
            "insert into _staged (_source_file, _source_row, _reasons, _raw_record) "
            "values (?, ?, ?, ?)",
            [(file.relative, n, [reason], _as_json(fields)) for n, reason, fields in malformed],
        )


def _as_json(fields: list[str]) -> str:
    readable = [f.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for f in fields]
    return json.dumps(readable, ensure_ascii=False)


def _publish(con, table: Table, results: list[FileResult]) -> None:
    cols = ", ".join(ident(c.name) for c in table.columns)
    with _transaction(con):
        con.execute(
            f"create or replace table raw.{table.name} as select {cols}, "
            f"_source_file, _source_row from _staged where len(_reasons) = 0"
        )
        for ddl_table in ("rejected_rows", "load_files"):
            con.execute(f"delete from raw.{ddl_table} where table_name = ?", [table.name])
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
            f"create table if not exists raw.{table.name} as select {cols}, "
            "_source_file, _source_row from _staged where false"
        )
        con.execute(f"delete from raw.{table.name} where {in_days('_source_file', days)}")
        for ddl_table in ("rejected_rows", "load_files"):
            con.execute(
                f"delete from raw.{ddl_table} where table_name = ? "
                f"and {in_days('source_file', days)}",
                [table.name],
            )
        con.execute(
            f"insert into raw.{table.name} select {cols}, _source_file, _source_row "
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
        con.execute("rollback")
        raise


def _insert_accounting(con, table: Table, results: list[FileResult]) -> None:
    con.execute(
        "insert into raw.rejected_rows select ?, _source_file, _source_row, "
        "nullif(split_part(_reasons[1], ':', 1), _reasons[1]), "
        "array_to_string(_reasons, '; '), _raw_record "
        "from _staged where len(_reasons) > 0",
        [table.name],
    )
    for r in results:
        con.execute(
            "insert into raw.load_files values (?, ?, ?, ?, ?, ?, ?)",
            [
                table.name,
                r.file,
                r.format,
                r.rows_read,
                r.rows_loaded,
                r.rows_rejected,
                r.unknown_columns,
            ],
        )
