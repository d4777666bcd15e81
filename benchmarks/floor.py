"""The benchmark's floor: DuckDB alone reading every landing file of a landing folder once.

    .venv/bin/python benchmarks/floor.py /tmp/swbench/landing-10000

Per table, `select count(*), sum(<one numeric column>)` over all its files, in one process timed
like every other phase (wall time, peak RSS under /usr/bin/time -v). No pipeline can land the
data faster than it can read it, so load and build times are best read against this.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from subscriber_warehouse.contract import TABLES, Table
from subscriber_warehouse.load.files import landing_files

HERE = Path(__file__).resolve().parent

# Run in the timed process; per-table seconds come back through a JSON file, since timed()
# keeps only the process's wall time and peak RSS.
SCAN = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from floor import scan
Path(sys.argv[3]).write_text(json.dumps(scan(Path(sys.argv[2]))))
"""


def numeric_column(table: Table) -> str | None:
    """A money column, else a decimal, else an int: summing one forces its values to be decoded,
    not just counted from file metadata. None for tables of text and timestamps only."""
    for kind in ("money", "decimal", "int"):
        for column in table.columns:
            if column.type == kind:
                return column.name
    return None


def _sources(landing: Path, table: str) -> list[str]:
    files = landing_files(landing, table)
    parquet = [str(f.path) for f in files if f.format == "parquet"]
    csv = [str(f.path) for f in files if f.format == "csv"]
    # CSV as text, cast in the sum: the loader reads CSV as text too, and a typed sniff of dirty
    # files would fail where the loader quarantines
    sources = []
    if parquet:
        sources.append(f"read_parquet({parquet}, union_by_name = true)")
    if csv:
        sources.append(f"read_csv({csv}, all_varchar = true, header = true, union_by_name = true)")
    return sources


def scan(landing: Path) -> dict:
    con = duckdb.connect()
    con.execute("set memory_limit = '6GB'")
    tables = {}
    for name, table in TABLES.items():
        column = numeric_column(table)
        total = f"sum(try_cast({column} as decimal(38, 8)))" if column else "null"
        started = time.perf_counter()
        rows, amount = 0, None
        for source in _sources(landing, name):
            n, s = con.execute(f"select count(*), {total} from {source}").fetchone()
            rows += n
            amount = s if amount is None else amount + (s or 0)
        tables[name] = {
            "rows": rows,
            "column": column,
            "sum": None if amount is None else float(amount),
            "seconds": round(time.perf_counter() - started, 3),
        }
    con.close()
    return tables


def floor(landing: Path) -> dict:
    from run import timed  # here, not at the top: run.py may import this module

    with tempfile.TemporaryDirectory(prefix="swfloor-") as tmp:
        out = Path(tmp) / "floor.json"
        figures = timed([sys.executable, "-c", SCAN, str(HERE), str(landing), str(out)])
        figures["tables"] = json.loads(out.read_text())
    figures["scan_seconds"] = round(sum(t["seconds"] for t in figures["tables"].values()), 2)
    figures["rows"] = sum(t["rows"] for t in figures["tables"].values())
    return figures


if __name__ == "__main__":
    figures = floor(Path(sys.argv[1]).resolve())
    for name, t in figures["tables"].items():
        print(f"{name:<22}{t['rows']:>12,} rows {t['seconds']:>8.3f} s")
    print(
        f"{'total scan':<22}{figures['rows']:>12,} rows {figures['scan_seconds']:>8.3f} s; "
        f"process {figures['seconds']} s, {figures['peak_rss_mib']} MiB"
    )
    print(json.dumps(figures))
