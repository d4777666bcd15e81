"""Staging a table's landing files into the temp table `_staged`: typed values, the reasons a
row breaks the contract, the raw record of a broken row, and each file's accounting.

CSV files are read one at a time (Python's csv module numbers their rows). Parquet files with
the same schema (column names and types) are read by DuckDB many per query: a daily table is
thousands of small files (one per day folder), and a query per file would cost more than
reading them. Only the same types: read_parquet casts every file to the first one's, so a file's
string '10.005' would be judged as the first file's decimal(18,2) 10.01.

read_parquet expands `*`, `?` and `[` in a path as a glob and adds a column `file_row_number`
(and one for the file name) beside the file's: a file with such a name or such a column is read
by pyarrow instead, a batch at a time, its rows numbered in file order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
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
from subscriber_warehouse.load.validate import checked_select, ident, reserved, sql_str

PARQUET_FILES_PER_QUERY = 500
PARQUET_BATCH_ROWS = 1_000_000  # a file pyarrow reads: rows per query
_GLOB = re.compile(r"[*?\[]")
# the columns read_parquet adds beside a file's own (_insert_parquet)
_READER_COLUMNS = ("file_row_number", "_raw_path")


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
    parquet: dict[tuple[tuple[str, pa.DataType], ...], list[LandingFile]] = {}  # by schema
    for file in files:
        if file.format == "csv":
            results[file.relative].unknown_columns = _stage_csv(con, table, file, now)
        elif file.format == "jsonl":
            results[file.relative].unknown_columns = _stage_jsonl(con, table, file, now)
        else:
            schema = _parquet_schema(file)
            _, results[file.relative].unknown_columns = present_columns(table, file, schema.names)
            parquet.setdefault(tuple((f.name, f.type) for f in schema), []).append(file)
    for schema, group in parquet.items():
        _stage_parquet_group(con, table, group, dict(schema), now)
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
    by_lower = {lo: h for lo, h in zip(lowered, header, strict=True) if not reserved(lo)}
    present = {c.name: by_lower[c.name] for c in table.columns if c.name in by_lower}
    missing = [c.name for c in table.columns if not c.nullable and c.name not in present]
    if missing:
        raise LoadError(
            f"{file.relative}: missing required column {missing[0]!r} "
            f"(required: {', '.join(c.name for c in table.columns if not c.nullable)})"
        )
    known = {c for c in table.column_names if not reserved(c)}
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
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns where "
                "table_catalog = '_source_db' and table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [schema, table.name],
            ).fetchall()
        )
        result = FileResult(label, "duckdb")
        if not types:
            return result
        file = LandingFile(database, label, "duckdb")
        present, result.unknown_columns = present_columns(table, file, list(types))
        binary = {c for c, src in present.items() if types[src] == "BLOB"}
        source = f"""(select {_projected("t", present)}row_number() over () as _source_row
            from _source_db.{ident(schema)}.{ident(table.name)} as t)"""
        _insert_checked(con, table, present, source, now, label, binary)
    finally:
        con.execute("detach _source_db")
    read, rejected = con.execute(
        "select count(*), count(*) filter (len(_reasons) > 0) from _staged"
    ).fetchall()[0]
    result.rows_read, result.rows_rejected, result.rows_loaded = read, rejected, read - rejected
    return result


def _projected(alias: str, present: dict[str, str]) -> str:
    """The file's contract columns, each followed by a comma: only those are read (a column of
    a reserved name, say `_source_row`, never is)."""
    return "".join(f"{alias}.{ident(src)}, " for src in present.values())


def _parquet_schema(file: LandingFile) -> pa.Schema:
    try:
        return pq.read_schema(file.path)
    except (pa.ArrowException, OSError) as e:
        raise LoadError(f"{file.relative}: cannot read Parquet: {e}") from None


def _is_bytes(type_: pa.DataType) -> bool:
    """A Parquet BINARY column without the UTF8 annotation: DuckDB reads it as BLOB."""
    return (
        pa.types.is_binary(type_)
        or pa.types.is_large_binary(type_)
        or pa.types.is_fixed_size_binary(type_)
        or pa.types.is_binary_view(type_)
    )


def _stage_parquet_group(con, table: Table, files, types: dict[str, pa.DataType], now) -> None:
    """Files of one schema (column name -> type): read by DuckDB many per query, but those it
    cannot read as they are (module docstring), which pyarrow reads."""
    present, _ = present_columns(table, files[0], list(types))
    binary = {c for c, src in present.items() if _is_bytes(types[src])}
    # read_parquet's columns clash with a file's case-insensitively (File_Row_Number too)
    own_columns = not any(name.lower() in _READER_COLUMNS for name in types)
    by_duckdb, by_pyarrow = [], []
    for file in files:
        literal = own_columns and not _GLOB.search(str(file.path))
        (by_duckdb if literal else by_pyarrow).append(file)
    for file in by_pyarrow:
        _stage_parquet_batches(con, table, file, present, binary, now)
    for start in range(0, len(by_duckdb), PARQUET_FILES_PER_QUERY):
        chunk = by_duckdb[start : start + PARQUET_FILES_PER_QUERY]
        _stage_parquet(con, table, chunk, present, binary, now)


def _stage_parquet(con, table: Table, files: list[LandingFile], present, binary, now) -> None:
    """Files with the same schema in one query; if it fails, file by file to name the file."""
    try:
        _insert_parquet(con, table, files, present, binary, now)
    except duckdb.Error as e:
        if len(files) == 1:
            raise LoadError(f"{files[0].relative}: cannot read Parquet: {e}") from None
        for file in files:  # the failed statement inserted nothing
            _stage_parquet(con, table, [file], present, binary, now)


def _insert_parquet(con, table: Table, files: list[LandingFile], present, binary, now) -> None:
    paths = pa.table(
        {"_path": [str(f.path) for f in files], "_source_file": [f.relative for f in files]}
    )
    listed = ", ".join(sql_str(str(f.path)) for f in files)
    source = f"""(
        select {_projected("p", present)}p.file_row_number + 1 as _source_row, f._source_file
        from read_parquet([{listed}], filename = '_raw_path', file_row_number = true) as p
        inner join _paths as f on p._raw_path = f._path)"""
    con.register("_paths", paths)
    try:
        _insert_checked(con, table, present, source, now, binary=binary)
    finally:
        con.unregister("_paths")


def _stage_parquet_batches(con, table: Table, file: LandingFile, present, binary, now) -> None:
    """One file read by pyarrow a batch at a time (rows numbered from 1 in file order) and
    registered: read_parquet cannot read it as it is (module docstring)."""
    try:
        first = 1
        reader = pq.ParquetFile(file.path)
        for batch in reader.iter_batches(PARQUET_BATCH_ROWS, columns=list(present.values())):
            numbers = pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
            first += batch.num_rows
            rows = pa.Table.from_batches([batch]).append_column("_source_row", numbers)
            con.register("_batch", rows)
            try:
                _insert_checked(con, table, present, "_batch", now, file.relative, binary)
            finally:
                con.unregister("_batch")
    except (pa.ArrowException, OSError) as e:
        raise LoadError(f"{file.relative}: cannot read Parquet: {e}") from None


def _insert_checked(
    con, table: Table, present, source: str, now, file: str | None = None, binary=()
) -> None:
    """Insert the checked rows of `source`: of the one file `file`, or carrying `_source_file`
    (many files: a failure is the caller's to name)."""
    select = checked_select(table, present, source, now, with_file=file is None, binary=binary)
    cols = ", ".join(ident(c) for c in table.column_names)
    constant = f", {sql_str(file)}" if file is not None else ""
    try:
        con.execute(
            f"insert into _staged ({cols}, _source_row, _reasons, _raw_record, _source_file) "
            f"select *{constant} from ({select})"
        )
    except duckdb.Error as e:
        if file is None:
            raise
        raise LoadError(f"{file}: cannot be loaded: {e}") from None


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
