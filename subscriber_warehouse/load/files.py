"""Finding landing files and reading their rows, with exact row numbers.

CSV is read with Python's csv module rather than DuckDB's `read_csv`: DuckDB cannot number the
rows of a CSV file (no `file_row_number` for CSV), and a quarantined row must name its row.
Parquet is read by DuckDB, which numbers rows itself.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

FORMATS = {".csv": "csv", ".parquet": "parquet"}
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


class LoadError(Exception):
    """A landing file, or the landing folder, cannot be loaded at all."""


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str  # as recorded in the warehouse: "<table>/<file name>"
    format: str


def landing_files(landing: Path, table: str) -> list[LandingFile]:
    """The table's files, sorted by name (the order in which later copies win).

    Names starting with '.' or '_' are files still being written or tool metadata.
    """
    folder = landing / table
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        fmt = FORMATS.get(path.suffix.lower())
        if fmt and path.is_file() and not path.name.startswith((".", "_")):
            found.append(LandingFile(path, f"{table}/{path.name}", fmt))
    return found


@dataclass
class CsvBatch:
    rows: pa.Table  # header columns as strings, plus _source_row
    malformed: list[tuple[int, str, list[str]]]  # (row number, reason, fields)


def csv_header(file: LandingFile) -> list[str]:
    with _open(file) as f:
        try:
            header = next(csv.reader(f, strict=True))
        except StopIteration:
            raise LoadError(f"{file.relative}: the file is empty (no header row)") from None
        except csv.Error as e:
            raise LoadError(f"{file.relative}: cannot parse the header: {e}") from None
    if _NOT_UTF8.search(",".join(header)):
        raise LoadError(f"{file.relative}: the header is not valid UTF-8")
    return header


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
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    arrays = {
        name: pa.array([v if v != "" else None for v in values], pa.string())
        for name, values in zip(header, columns, strict=True)
    }
    arrays["_source_row"] = pa.array(numbers, pa.int64())
    return CsvBatch(pa.table(arrays), malformed)


def _open(file: LandingFile):
    # utf-8-sig drops a BOM; surrogateescape keeps bad bytes so the row can be quarantined
    return open(file.path, newline="", encoding="utf-8-sig", errors="surrogateescape")
