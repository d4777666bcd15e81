"""Finding landing files and reading their rows, with exact row numbers.

CSV is read with Python's csv module rather than DuckDB's `read_csv`: DuckDB cannot number the
rows of a CSV file (no `file_row_number` for CSV), and a quarantined row must name its row.
Parquet is read by DuckDB, which numbers rows itself.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from subscriber_warehouse.contract import DAILY_TABLES, TABLES, Table
from subscriber_warehouse.load.validate import reserved

FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_BOM = "\ufeff"

# The contract sets no limit on a field's length (Parquet loads any text), so neither does the
# csv module (131,072 characters by default).
csv.field_size_limit(sys.maxsize)


class LoadError(Exception):
    """A landing file, or the landing folder, cannot be loaded at all."""


@dataclass(frozen=True)
class LandingFile:
    path: Path
    # as recorded in the warehouse: "<table>/<file name>" or "<table>/<YYYY-MM-DD>/<file name>"
    relative: str
    format: str
    day: str | None = None  # the day folder; None for a file directly in the table folder


def _hidden(path: Path) -> bool:
    """Names starting with '.' or '_' are files still being written or tool metadata."""
    return path.name.startswith((".", "_"))


def _files_in(folder: Path, prefix: str, day: str | None, formats) -> list[LandingFile]:
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        fmt = FORMATS.get(path.suffix.lower())
        if fmt in formats and path.is_file() and not _hidden(path):
            found.append(LandingFile(path, f"{prefix}/{path.name}", fmt, day))
    return found


def _table(table: str | Table) -> Table:
    return TABLES[table] if isinstance(table, str) else table


def day_folders(landing: Path, table: str | Table) -> list[str]:
    """The day folders (`YYYY-MM-DD`) of a table, sorted; LoadError for any other folder.

    Only the daily tables (contract.DAILY_TABLES) are delivered in day folders: a folder in
    another table's folder would otherwise be skipped silently, and its rows lost.
    """
    table = _table(table)
    where = table.landing_folder
    folder = landing / where
    if not folder.is_dir():
        return []
    days = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.is_dir() or _hidden(path):
            continue
        if table.day_column is None:
            raise LoadError(
                f"{where}/{path.name}: {table.label} is not delivered in day folders; land its "
                f"files directly in {where}/ (only {', '.join(DAILY_TABLES)} use day folders)"
            )
        if not is_day(path.name):
            raise LoadError(f"{where}/{path.name}: not a day folder (expected YYYY-MM-DD)")
        days.append(path.name)
    return days


def is_day(name: str) -> bool:
    if not _DAY.fullmatch(name):
        return False
    try:
        date.fromisoformat(name)
    except ValueError:
        return False
    return True


def landing_files(
    landing: Path, table: str | Table, days: Collection[str] | None = None
) -> list[LandingFile]:
    """The table's files in delivery order: those directly in the table folder (for a daily
    table, a one-off bulk delivery of history), then each day folder's by day; by name within
    a folder.

    `days` lists only those day folders' files, and no top-level ones: a daily partition's load.
    """
    table = _table(table)
    where = table.landing_folder
    folder = landing / where
    if not folder.is_dir():
        return []
    found = [] if days is not None else _files_in(folder, where, None, table.formats)
    for day in day_folders(landing, table):
        if days is None or day in days:
            found += _files_in(folder / day, f"{where}/{day}", day, table.formats)
    return found


def jsonl_batches(
    file: LandingFile, columns: list[str], batch_rows: int = 100_000
) -> Iterator[tuple[CsvBatch, set[str]]]:
    """JSON-lines rows as text columns (`columns`, an object's top-level keys; a nested value
    as its JSON text, a missing key as null) with their 1-based line numbers, and the keys
    outside `columns`. A line that is not a JSON object is malformed, with its reason."""
    wanted = set(columns)
    with _open(file) as f:
        rows, numbers, malformed, unknown = [], [], [], set()
        row_number = 0
        for line in f:
            row_number += 1  # the line number: a blank line carries no row
            if not line.strip():
                continue
            reason, value = _json_object(line)
            if reason:
                malformed.append((row_number, reason, [line.rstrip("\n")[:2000]]))
            else:
                unknown |= value.keys() - wanted
                rows.append([_as_text(value.get(c)) for c in columns])
                numbers.append(row_number)
            if len(rows) + len(malformed) >= batch_rows:
                yield _batch(columns, rows, numbers, malformed), unknown
                rows, numbers, malformed = [], [], []
        yield _batch(columns, rows, numbers, malformed), unknown


def _json_object(line: str) -> tuple[str | None, dict]:
    if _NOT_UTF8.search(line):
        return "the line is not valid UTF-8", {}
    try:
        value = json.loads(line)
    except json.JSONDecodeError as e:
        return f"not valid JSON: {e.msg} (column {e.colno})", {}
    if not isinstance(value, dict):
        return "the line is not a JSON object", {}
    return None, value


def _as_text(value) -> str:
    """A JSON value as the text the contract's rules read: nested values as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value)


@dataclass
class CsvBatch:
    rows: pa.Table  # header columns as strings, plus _source_row
    malformed: list[tuple[int, str, list[str]]]  # (row number, reason, fields)


def csv_header(file: LandingFile) -> list[str]:
    with _open(file) as f:
        _check_first_line(file, f.readline())
        f.seek(0)
        try:
            header = next(csv.reader(f, strict=True))
        except StopIteration:
            raise LoadError(f"{file.relative}: the file is empty (no header row)") from None
        except csv.Error as e:
            raise LoadError(f"{file.relative}: cannot parse the header: {e}") from None
    if _NOT_UTF8.search(",".join(header)):
        raise LoadError(f"{file.relative}: the header is not valid UTF-8")
    return header


def _check_first_line(file: LandingFile, line: str) -> None:
    """LoadError for a file that is not the contract's CSV from its first line on, saying why
    (the header would otherwise be misread: a missing column, a quote error)."""
    if line.startswith(_BOM):  # _open dropped the first
        raise LoadError(
            f"{file.relative}: the file starts with a second byte-order mark "
            "(the raw contract's CSV may start with one)"
        )
    if ";" in line and "," not in line:
        raise LoadError(
            f"{file.relative}: the header is delimited by ';'; the raw contract's CSV is "
            "comma-delimited"
        )


def csv_batches(file: LandingFile, batch_rows: int = 200_000) -> Iterator[CsvBatch]:
    with _open(file) as f:
        reader = csv.reader(f, strict=True)
        header = next(reader)
        width = len(header)
        rows, numbers, malformed = [], [], []
        row_number = 0
        try:
            for fields in reader:
                row_number += 1
                line = reader.line_num
                if len(fields) != width:
                    if fields == []:  # a blank line carries no row
                        row_number -= 1
                        continue
                    malformed.append(
                        (
                            row_number,
                            f"row has {len(fields)} fields, the header has {width} (line {line})",
                            fields,
                        )
                    )
                elif any(not f.isascii() for f in fields) and _NOT_UTF8.search("".join(fields)):
                    bad = next(
                        h for h, v in zip(header, fields, strict=True) if _NOT_UTF8.search(v)
                    )
                    malformed.append((row_number, f"{bad}: not valid UTF-8 (line {line})", fields))
                else:
                    rows.append(fields)
                    numbers.append(row_number)
                if len(rows) + len(malformed) >= batch_rows:
                    yield _batch(header, rows, numbers, malformed)
                    rows, numbers, malformed = [], [], []
        except csv.Error as e:
            raise LoadError(
                f"{file.relative}: cannot parse CSV at line {reader.line_num}: {e}"
            ) from None
        yield _batch(header, rows, numbers, malformed)


def _batch(header, rows, numbers, malformed) -> CsvBatch:
    """The rows as string columns and their `_source_row`; a file's column of a reserved name
    (validate.reserved) is left out: the row number is the loader's."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    arrays = {
        name: pa.array([v if v != "" else None for v in values], pa.string())
        for name, values in zip(header, columns, strict=True)
        if not reserved(name)
    }
    arrays["_source_row"] = pa.array(numbers, pa.int64())
    return CsvBatch(pa.table(arrays), malformed)


def _open(file: LandingFile):
    # utf-8-sig drops a BOM; surrogateescape keeps bad bytes so the row can be quarantined
    return open(file.path, newline="", encoding="utf-8-sig", errors="surrogateescape")
