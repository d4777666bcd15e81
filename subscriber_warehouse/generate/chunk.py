"""One unit of work: simulate a chunk of customers and write one file per table.

Runs in a worker process when workers > 1; everything it needs is in the picklable task, and it
returns only row counts and (dirty mode) the few rows the dirt files are built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..contract import TABLES
from .catalog import Catalog, build_catalog
from .dirt import select_chunk_dirt
from .simulate import CUSTOMER_TABLES, simulate_chunk
from .usage import usage_columns
from .write import columns_from_rows, file_name, to_arrow, write_arrow, write_daily


@dataclass(frozen=True)
class ChunkTask:
    out: Path
    fmt: str
    dirty: bool
    seed: int
    chunk: int
    first_customer: int  # global 0-based index of the chunk's first customer
    n_customers: int
    id_width: int
    t_start: int
    t_end: int
    months: int
    customers: int  # of the whole run: sizes campaign spend


@dataclass
class ChunkResult:
    chunk: int
    rows: dict[str, int]
    dirt: dict[str, pa.Table] = field(default_factory=dict)  # CSV-formatted rows


@cache
def catalog_for(seed: int, t_start: int, t_end: int, months: int, customers: int) -> Catalog:
    return build_catalog(seed, t_start, t_end, months, customers)


def run_chunk(task: ChunkTask) -> ChunkResult:
    cat = catalog_for(task.seed, task.t_start, task.t_end, task.months, task.customers)
    rows, nrng = simulate_chunk(
        cat, task.seed, task.chunk, task.first_customer, task.n_customers, task.id_width
    )
    result = ChunkResult(task.chunk, {})
    if task.dirty:
        result.dirt = select_chunk_dirt(task, rows, cat)
    for table in CUSTOMER_TABLES:
        cols = columns_from_rows(table, getattr(rows, table))
        setattr(rows, table, None)  # free the Python rows as soon as they are written
        result.rows[table] = _write(task, table, cols)
    result.rows["usage_events"] = _write(task, "usage_events", usage_columns(rows.spans, nrng))
    _write_truth(task, rows.retention_truth)
    return result


TRUTH = "_truth"  # the loader ignores folders starting with "_"


def truth_file(out: Path, chunk: int) -> Path:
    return out / TRUTH / f"retention_segments-{chunk:05d}.parquet"


def _write_truth(task: ChunkTask, truth: list[tuple]) -> None:
    """What the simulation did in each retention campaign: customer, campaign, arm, segment."""
    names = ("customer_id", "campaign_id", "arm", "segment")
    columns = zip(*truth, strict=True) if truth else ([] for _ in names)
    table = pa.table(
        {n: pa.array(list(v), pa.string()) for n, v in zip(names, columns, strict=True)}
    )
    path = truth_file(task.out, task.chunk)
    path.parent.mkdir(exist_ok=True)
    pq.write_table(table, path)


def _write(task: ChunkTask, table: str, cols: dict) -> int:
    """Write one table of the chunk; a daily table goes to day folders. Returns its rows."""
    data = to_arrow(table, cols, task.fmt)
    day_column = TABLES[table].day_column
    if day_column:
        write_daily(task.out, table, task.chunk, data, cols[day_column], task.fmt)
    else:
        write_arrow(task.out / file_name(table, task.chunk, task.fmt), data, task.fmt)
    return data.num_rows
