"""Orchestration: reference tables, chunks (in worker processes when asked), dirt, manifest.

Deterministic: chunk k is seeded from SeedSequence([seed, k]) and reference data from the seed
alone, so files do not depend on `workers`, the machine's time zone or locale.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from ..contract import CONTRACT_VERSION, DAILY_TABLES, TABLES
from .chunk import TRUTH, ChunkTask, catalog_for, run_chunk
from .dirt import count_rows, write_dirt
from .reference import campaign_rows, fx_columns, plan_rows
from .timeutil import add_months, epoch_seconds, iso_ts
from .write import columns_from_rows, file_name, merge_day, to_arrow, write_arrow

GENERATOR_VERSION = 1
FORMATS = ("parquet", "csv")
MAX_CHUNKS = 99_998  # chunk labels 99998/99999 are the dirt files'


def _written(out: Path, table: str) -> list[Path]:
    """The table's files with names this generator writes, in the table or its day folders."""
    found = [*(out / table).glob(f"{table}-*.*"), *(out / table).glob(f"*/{table}-*.*")]
    return sorted(f for f in found if f.suffix in (".csv", ".parquet"))


def _clear(out: Path) -> None:
    """Remove files of an earlier run (only names this generator writes), and day folders
    left empty."""
    for table in TABLES:
        for f in _written(out, table):
            f.unlink()
            if f.parent != out / table and not any(f.parent.iterdir()):
                f.parent.rmdir()
    (out / "_manifest.json").unlink(missing_ok=True)
    for f in (out / TRUTH).glob("retention_segments-*.parquet"):
        f.unlink()


def generate(
    out: Path,
    customers: int,
    seed: int,
    start: dt.date,
    months: int,
    fmt: str = "parquet",
    dirty: bool = False,
    chunk_size: int = 10_000,
    workers: int = 1,
    progress: bool = True,
) -> dict:
    out = Path(out)
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    if customers < 1 or months < 1 or chunk_size < 1 or workers < 1 or seed < 0:
        raise ValueError("customers, months, chunk_size and workers must be >= 1, seed >= 0")
    n_chunks = -(-customers // chunk_size)
    if n_chunks > MAX_CHUNKS:
        raise ValueError(f"{n_chunks} chunks: raise chunk_size")
    t_start = epoch_seconds(start)
    t_end = add_months(t_start, months)
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)

    cat = catalog_for(seed, t_start, t_end, months, customers)
    rows: dict[str, int] = {}
    for table, cols in (
        ("plans", columns_from_rows("plans", plan_rows(cat))),
        ("campaigns", columns_from_rows("campaigns", campaign_rows(cat))),
        ("fx_rates", fx_columns(cat)),
    ):
        data = to_arrow(table, cols, fmt)
        write_arrow(out / file_name(table, 0, fmt), data, fmt)
        rows[table] = data.num_rows

    width = max(7, len(str(customers)))
    tasks = [
        ChunkTask(
            out,
            fmt,
            dirty,
            seed,
            k,
            k * chunk_size,
            min(chunk_size, customers - k * chunk_size),
            width,
            t_start,
            t_end,
            months,
            customers,
        )
        for k in range(n_chunks)
    ]
    dirt_parts = []
    bar = tqdm(total=n_chunks, desc="generate", unit="chunk", disable=not progress)
    try:
        if workers == 1:
            results = map(run_chunk, tasks)
            pool = None
        else:
            pool = ProcessPoolExecutor(
                max_workers=min(workers, n_chunks), mp_context=multiprocessing.get_context("spawn")
            )
            results = pool.map(run_chunk, tasks)
        for res in results:  # in chunk order, whatever finished first
            for table, n in res.rows.items():
                rows[table] = rows.get(table, 0) + n
            if res.dirt:
                dirt_parts.append(res.dirt)
            bar.update(1)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    # Parquet and CSV I/O release the GIL: threads are enough
    with ThreadPoolExecutor(workers) as threads:
        days = [(d, t) for t in DAILY_TABLES for d in (out / t).iterdir() if d.is_dir()]
        list(threads.map(lambda day: merge_day(day[0], day[1], fmt), days))
    dirt = write_dirt(out, dirt_parts, t_end) if dirty else []
    for table, n in count_rows(dirt).items():
        rows[table] += n
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "contract_version": CONTRACT_VERSION,
        "parameters": {
            "customers": customers,
            "seed": seed,
            "start": start.isoformat(),
            "months": months,
            "end": iso_ts(t_end),
            "format": fmt,
            "dirty": dirty,
            "chunk_size": chunk_size,
        },
        "rows": {t: rows.get(t, 0) for t in TABLES},
        "files": {t: [str(p.relative_to(out)) for p in _written(out, t)] for t in TABLES},
        "dirt": dirt,
    }
    (out / "_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
