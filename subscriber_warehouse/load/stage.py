"""Staging a table's landing files into the temp table `_staged`: typed values, the reasons a
row breaks the contract, the raw record of a broken row, and each file's accounting.

CSV files are read one at a time (Python's csv module numbers their rows). Parquet files with
the same columns are read by DuckDB many per query: a daily table is thousands of small files
(one per day folder), and a query per file would cost more than reading them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from subscriber_warehouse.contract import Table
from subscriber_warehouse.load.files import (
    LandingFile,
    LoadError,
    csv_batches,
    csv_header,
    jsonl_batches,
)
from subscriber_warehouse.load.validate import checked_select, ident, sql_str

PARQUET_FILES_PER_QUERY = 500


@dataclass
class FileResult:
    file: str
    format: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    unknown_columns: list[str] = field(default_factory=list)


def stage_files(con, table: Table, files: list[LandingFile], now: datetime) -> list[FileResult]:
    """Stage every file (in `files` order) and count its rows: read = loaded + rejected."""
    results = {f.relative: FileResult(f.relative, f.format) for f in files}
    parquet: dict[tuple[str, ...], list[LandingFile]] = {}  # by header
    for file in files:
        if file.format == "csv":
            results[file.relative].unknown_columns = _stage_csv(con, table, file, now)
        elif file.format == "jsonl":
            results[file.relative].unknown_columns = _stage_jsonl(con, table, file, now)
        else:
            header = _parquet_header(file)
            _, results[file.relative].unknown_columns = present_columns(table, file, header)
            parquet.setdefault(tuple(header), []).append(file)
    for header, group in parquet.items():
        present, _ = present_columns(table, group[0], list(header))
        for start in range(0, len(group), PARQUET_FILES_PER_QUERY):
            _stage_parquet(con, table, group[start : start + PARQUET_FILES_PER_QUERY], present, now)
    counts = con.execute(
        "select _source_file, count(*), count(*) filter (len(_reasons) > 0) "
        "from _staged group by _source_file"
    ).fetchall()
    for name, read, rejected in counts:
        result = results[name]
        result.rows_read, result.rows_rejected = read, rejected
        result.rows_loaded = read - rejected
    return list(results.values())


def present_columns(table: Table, file: LandingFile, header: list[str]) -> tuple[dict, list]:
    """Contract column -> its name in the file, and the file's unknown columns; LoadError for a
    duplicated or missing required column."""
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


def _stage_csv(con, table: Table, file: LandingFile, now: datetime) -> list[str]:
    present, unknown = present_columns(table, file, csv_header(file))
    for batch in csv_batches(file):
        con.register("_batch", batch.rows)
        _insert_checked(con, table, present, "_batch", now, file.relative)
        con.unregister("_batch")
        _insert_malformed(con, file, batch.malformed)
    return unknown


def _stage_jsonl(con, table: Table, file: LandingFile, now: datetime) -> list[str]:
    """Every key of an object is a column; a required one missing from an object makes that
    row's "required value is missing", not the file's failure (objects omit empty fields)."""
    present = {c.name: c.name for c in table.columns}
    unknown: set[str] = set()
    for batch, keys in jsonl_batches(file, table.column_names):
        unknown |= keys
        con.register("_batch", batch.rows)
        _insert_checked(con, table, present, "_batch", now, file.relative)
        con.unregister("_batch")
        _insert_malformed(con, file, batch.malformed)
    return sorted(unknown)


def stage_database(con, table: Table, database: Path, schema: str, now: datetime) -> FileResult:
    """Stage a table of another DuckDB database (a Fivetran DuckDB destination) as one "file"
    named <database file>:<schema>.<table>, its rows numbered in the table's storage order."""
    label = f"{database.name}:{schema}.{table.name}"
    con.execute(f"attach {sql_str(str(database))} as _source_db (read_only)")
    try:
        header = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_catalog = "
                "'_source_db' and table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table.name],
            ).fetchall()
        ]
        result = FileResult(label, "duckdb")
        if not header:
            return result
        file = LandingFile(database, label, "duckdb")
        present, result.unknown_columns = present_columns(table, file, header)
        source = f"""(select t.*, row_number() over () as _source_row
            from _source_db.{ident(schema)}.{ident(table.name)} as t)"""
        _insert_checked(con, table, present, source, now, label)
    finally:
        con.execute("detach _source_db")
    read, rejected = con.execute(
        "select count(*), count(*) filter (len(_reasons) > 0) from _staged"
    ).fetchall()[0]
    result.rows_read, result.rows_rejected, result.rows_loaded = read, rejected, read - rejected
    return result


def _parquet_header(file: LandingFile) -> list[str]:
    try:
        return pq.read_schema(file.path).names
    except (pa.ArrowException, OSError) as e:
        raise LoadError(f"{file.relative}: cannot read Parquet: {e}") from None


def _stage_parquet(con, table: Table, files: list[LandingFile], present, now) -> None:
    """Files with the same columns in one query; if it fails, file by file to name the file."""
    try:
        _insert_parquet(con, table, files, present, now)
    except duckdb.Error as e:
        if len(files) == 1:
            raise LoadError(f"{files[0].relative}: cannot read Parquet: {e}") from None
        for file in files:  # the failed statement inserted nothing
            _stage_parquet(con, table, [file], present, now)


def _insert_parquet(con, table: Table, files: list[LandingFile], present, now) -> None:
    paths = pa.table(
        {"_path": [str(f.path) for f in files], "_source_file": [f.relative for f in files]}
    )
    listed = ", ".join(sql_str(str(f.path)) for f in files)
    source = f"""(
        select p.*, p.file_row_number + 1 as _source_row, f._source_file
        from read_parquet([{listed}], filename = '_landing_path', file_row_number = true) as p
        inner join _paths as f on p._landing_path = f._path)"""
    con.register("_paths", paths)
    try:
        _insert_checked(con, table, present, source, now)
    finally:
        con.unregister("_paths")


def _insert_checked(con, table: Table, present, source: str, now, file: str | None = None):
    """Insert the checked rows of `source`: of the one file `file`, or carrying `_source_file`."""
    select = checked_select(table, present, source, now, with_file=file is None)
    cols = ", ".join(ident(c) for c in table.column_names)
    constant = f", {sql_str(file)}" if file is not None else ""
    con.execute(
        f"insert into _staged ({cols}, _source_row, _reasons, _raw_record, _source_file) "
        f"select *{constant} from ({select})"
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
