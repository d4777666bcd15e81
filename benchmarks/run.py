"""Benchmarks: generation, raw load and dbt build at several scales, with wall time and peak RSS.

    .venv/bin/python benchmarks/run.py --customers 10000 100000 1000000 [--workdir /tmp/swbench]

Each phase runs as its own process under `/usr/bin/time -v`, so peak RSS is that phase's alone.
Figures print as a table and are written to benchmarks/results/<date>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from floor import floor
from peer import peer

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent

LOAD = """
import sys
from datetime import datetime
from pathlib import Path
from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load import connect, load_table
con = connect(sys.argv[2], "6GB")
for table in TABLES:
    load_table(con, Path(sys.argv[1]), table, datetime(2026, 1, 2))
con.close()
"""


def timed(command: list[str], env: dict | None = None) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(rss_kb / 1024)}


def bench(customers: int, workdir: Path) -> dict:
    landing, warehouse = workdir / f"landing-{customers}", workdir / f"wh-{customers}.duckdb"
    if warehouse.exists():
        warehouse.unlink()
    figures = {"customers": customers}
    if not (landing / "_manifest.json").exists():
        figures["generate"] = timed(
            [
                str(BIN / "subscriber-warehouse"),
                "generate",
                "--customers",
                str(customers),
                "--out",
                str(landing),
                "--workers",
                "2",
            ]
        )
    manifest = json.loads((landing / "_manifest.json").read_text())
    figures["rows"] = sum(manifest["rows"].values())
    figures["load"] = timed([sys.executable, "-c", LOAD, str(landing), str(warehouse)])
    figures["dbt_build"] = timed(
        [
            str(BIN / "dbt"),
            "build",
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(ROOT),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
        ],
        env={"SW_WAREHOUSE": str(warehouse)},
    )
    figures["floor"] = floor(landing)
    figures["floor_ratio"] = round(
        (figures["load"]["seconds"] + figures["dbt_build"]["seconds"])
        / figures["floor"]["seconds"],
        1,
    )
    figures["peer"] = peer(landing, warehouse)
    return figures


def markdown(results: list[dict], machine: str) -> str:
    lines = [
        f"Machine: {machine}",
        "",
        "| customers | landed rows | generate s | generate MiB | load s | load MiB | "
        "dbt build s | dbt build MiB | floor s | (load + build) / floor | peer s | "
        "peer mismatches |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        g = r.get("generate", {"seconds": "-", "peak_rss_mib": "-"})
        lines.append(
            f"| {r['customers']:,} | {r['rows']:,} | {g['seconds']} | "
            f"{g['peak_rss_mib']} | {r['load']['seconds']} | {r['load']['peak_rss_mib']} "
            f"| {r['dbt_build']['seconds']} | {r['dbt_build']['peak_rss_mib']} "
            f"| {r['floor']['seconds']} | {r['floor_ratio']} | {r['peer']['seconds']} "
            f"| {r['peer']['mismatches']} of {r['peer']['customer_months']:,} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/swbench"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    machine = f"{os.cpu_count()} cores, {memory:.0f} GiB, {platform.platform()}"
    results = []
    for n in args.customers:
        results.append(bench(n, args.workdir))
        print(json.dumps(results[-1]), flush=True)
    table = markdown(results, machine)
    print(table)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    (out / f"{stamp}.json").write_text(
        json.dumps({"machine": machine, "results": results}, indent=2)
    )
    (out / f"{stamp}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
