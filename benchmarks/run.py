"""Benchmarks: the whole pipeline at several scales, against a floor and a peer.

    .venv/bin/python benchmarks/run.py --customers 10000 100000 1000000 [--workdir /tmp/swbench]

Per scale: generate landing data (kept in the workdir and reused), hold back the newest day's
folders, `subscriber-warehouse run` (full: load, gates, dbt build, predictive models, publish,
exports, report), then put the held day back and `subscriber-warehouse run --day <it>` (the
daily incremental run on top of that warehouse); then the floor (DuckDB alone reading every
landing file once) and the peer (dbt-labs' mrr-playbook method in plain SQL, checked against
our month-end MRR). With `--sources stripe [chargebee]`, the same business is also written in
that billing system's shape and run with `--source` (the full run), its month-end MRR compared
with the native run's customer-month by customer-month. Each runs as its own process under
`/usr/bin/time -v`, so its wall time and peak RSS are its own; the run's time per phase comes
from Dagster's event log (both runs share a DAGSTER_HOME in the workdir, as a production
instance keeps one). The table is printed and written to benchmarks/results/<date>.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from floor import floor
from peer import peer

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from subscriber_warehouse.contract import DAILY_TABLES  # noqa: E402
from subscriber_warehouse.load.files import day_folders  # noqa: E402
from subscriber_warehouse.load.validate import sql_str  # noqa: E402

# Per-step seconds of the newest run in DAGSTER_HOME, read in a process of its own (Dagster's
# imports would otherwise count in nothing timed, but slow the script's start).
STEP_SECONDS = """
import json, sys
import dagster as dg
with dg.DagsterInstance.get() as instance:
    run = instance.get_runs(limit=1)[0]
    started, seconds = {}, {}
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds[event.step_key] = record.timestamp - started[event.step_key]
    print(json.dumps({"status": run.status.value, "steps": seconds}))
"""

PHASES = ("load", "gates", "dbt", "predictive", "publish", "exports", "report")


def phase(step_key: str) -> str:
    """The phase of a step of the pipeline job, by the asset or check it runs."""
    if "_gx_" in step_key:
        return "gates"
    if step_key.startswith("dbt_"):
        return "dbt"
    if step_key.startswith("raw_"):
        return "load"
    for name in ("publish", "exports", "report"):
        if step_key.startswith(name):
            return name
    return "predictive"


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
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])
    figures = {"seconds": round(seconds, 1), "peak_rss_mib": round(rss_kb / 1024)}
    if done.returncode != 0:
        # kept with its figures: a failed run (out of memory at 1M) is a result too
        figures["failed"] = f"exit {done.returncode}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
        print(f"{' '.join(command)} failed:\n{figures['failed']}", file=sys.stderr, flush=True)
    return figures


def generated(command: list[str]) -> dict:
    figures = timed(command)
    if "failed" in figures:
        raise SystemExit("generating the landing failed: nothing to measure")
    return figures


def pipeline_run(
    landing: Path, warehouse: Path, home: Path, day: str | None = None, source: str = "native"
) -> dict:
    env = {"DAGSTER_HOME": str(home)}
    command = [str(BIN / "subscriber-warehouse"), "run", "--landing", str(landing)]
    command += ["--warehouse", str(warehouse), *(["--day", day] if day else [])]
    command += ["--source", source]
    figures = timed(command, env)
    steps = json.loads(
        subprocess.run(
            [sys.executable, "-c", STEP_SECONDS],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **env},
        ).stdout
    )["steps"]
    figures["phases"] = {
        p: round(sum(s for k, s in steps.items() if phase(k) == p), 1) for p in PHASES
    }
    # imports, dbt manifest, Dagster's start and event writes between steps, the summary
    figures["phases"]["other"] = round(figures["seconds"] - sum(steps.values()), 1)
    figures["steps"] = {k: round(s, 1) for k, s in sorted(steps.items(), key=lambda x: -x[1])}
    return figures


def newest_day(landing: Path) -> str:
    return max(d for table in DAILY_TABLES for d in day_folders(landing, table))


def move_day(landing: Path, held: Path, day: str, back: bool) -> None:
    """The landing as it stood before `day` (or back): the day folders of `day` moved to `held`,
    and refunds (bulk files, not delivered by day) without that day's refunds, which may refund
    its payments (a refund of a payment not yet landed fails the reference gate)."""
    for table in DAILY_TABLES:
        src, dst = landing / table / day, held / table / day
        if back:
            src, dst = dst, src
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(src, dst)
    refunds, held_refunds = landing / "refunds", held / "refunds"
    if back:
        if held_refunds.exists():
            shutil.rmtree(refunds)
            shutil.move(held_refunds, refunds)
        return
    shutil.move(refunds, held_refunds)
    refunds.mkdir()
    duckdb.sql(
        f"copy (select * from read_parquet('{held_refunds}/*.parquet') "
        f"where refunded_at < timestamptz '{day} 00:00:00+00') "
        f"to '{refunds}/refunds-00000.parquet' (format parquet)"
    )


MRR_BY_CUSTOMER_MONTH = "select customer_id, month_start, mrr from marts.fct_customer_mrr_monthly"


def source_bench(customers: int, workdir: Path, source: str, native: Path) -> dict:
    """The business in `source`'s shape: generated once (kept), one full run, and how many
    customer-months' MRR differ from the native run's."""
    landing = workdir / f"landing-{customers}-{source}"
    warehouse = workdir / f"wh-{customers}-{source}" / "warehouse.duckdb"
    home = workdir / f"dagster-{customers}-{source}"
    for stale in (warehouse.parent, home):
        shutil.rmtree(stale, ignore_errors=True)
    warehouse.parent.mkdir(parents=True)
    home.mkdir()
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    figures: dict = {}
    # a source's landing has no _manifest.json: its billing tables are in <landing>/<source>
    if not (landing / source).is_dir():
        command = [str(BIN / "subscriber-warehouse"), "generate", "--customers", str(customers)]
        command += ["--format", source, "--out", str(landing), "--workers", "2"]
        figures["generate"] = generated(command)
    figures["full_run"] = pipeline_run(landing, warehouse, home, source=source)
    if "failed" in figures["full_run"]:
        return figures
    con = duckdb.connect()
    con.execute(f"attach {sql_str(str(native))} as native (read_only)")
    con.execute(f"attach {sql_str(str(warehouse))} as mapped (read_only)")
    query = MRR_BY_CUSTOMER_MONTH.replace("marts.", "{db}.marts.")
    figures["customer_months"], figures["mismatches"] = con.execute(
        f"""select (select count(*) from native.marts.fct_customer_mrr_monthly),
            (select count(*) from (
                (select * from ({query.format(db="native")}) except all
                 select * from ({query.format(db="mapped")}))
                union all
                (select * from ({query.format(db="mapped")}) except all
                 select * from ({query.format(db="native")}))))"""
    ).fetchall()[0]
    con.close()
    return figures


def bench(customers: int, workdir: Path, sources: list[str]) -> dict:
    landing = workdir / f"landing-{customers}"
    warehouse = workdir / f"wh-{customers}" / "warehouse.duckdb"
    home, held = workdir / f"dagster-{customers}", workdir / f"held-{customers}"
    for stale in (warehouse.parent, home):
        shutil.rmtree(stale, ignore_errors=True)
    warehouse.parent.mkdir(parents=True)
    home.mkdir()
    shutil.copy(ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    figures: dict = {"customers": customers}
    if held.exists():  # an interrupted earlier run
        for day in {d.name for t in DAILY_TABLES for d in (held / t).glob("*")}:
            move_day(landing, held, day, back=True)
    if not (landing / "_manifest.json").exists():
        command = [str(BIN / "subscriber-warehouse"), "generate", "--customers", str(customers)]
        figures["generate"] = generated([*command, "--out", str(landing), "--workers", "2"])
    manifest = json.loads((landing / "_manifest.json").read_text())
    figures["rows"] = manifest["rows"]
    day = newest_day(landing)
    move_day(landing, held, day, back=False)
    try:
        figures["full_run"] = pipeline_run(landing, warehouse, home)
    finally:
        move_day(landing, held, day, back=True)
    if "failed" in figures["full_run"]:
        return figures
    figures["daily_run"] = {"day": day, **pipeline_run(landing, warehouse, home, day)}
    figures["warehouse_gib"] = round(warehouse.stat().st_size / 2**30, 2)
    figures["floor"] = floor(landing)
    figures["floor_ratio"] = round(figures["full_run"]["seconds"] / figures["floor"]["seconds"], 1)
    figures["load_floor_ratio"] = round(
        figures["full_run"]["phases"]["load"] / figures["floor"]["seconds"], 1
    )
    figures["peer"] = peer(landing, warehouse)
    # after the daily run the native warehouse holds every day, as the source's full run does
    for source in sources:
        figures[f"{source}_run"] = source_bench(customers, workdir, source, warehouse)
    return figures


def run_seconds(run: dict | None) -> str:
    if run is None:
        return "-"
    return f"failed after {run['seconds']}" if "failed" in run else str(run["seconds"])


def markdown(results: list[dict], machine: str) -> str:
    head = (
        "| customers | subscription events | invoices + payments | usage events | rows landed "
        "| full run s | full run peak MiB | daily run s | daily run peak MiB | floor s "
        "| full run / floor | load / floor | peer s | peer mismatches |"
    )
    lines = [f"Machine: {machine}", "", head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in results:
        rows, full, daily = r["rows"], r["full_run"], r.get("daily_run")
        peer_cells = (
            f"{r['peer']['seconds']} | {r['peer']['mismatches']} of "
            f"{r['peer']['customer_months']:,}"
            if "peer" in r
            else "- | -"
        )
        lines.append(
            f"| {r['customers']:,} | {rows['subscription_events']:,} "
            f"| {rows['invoices'] + rows['payments']:,} | {rows['usage_events']:,} "
            f"| {sum(rows.values()):,} | {run_seconds(full)} | {full['peak_rss_mib']} "
            f"| {run_seconds(daily)} | {daily['peak_rss_mib'] if daily else '-'} "
            f"| {r.get('floor', {}).get('seconds', '-')} | {r.get('floor_ratio', '-')} "
            f"| {r.get('load_floor_ratio', '-')} | {peer_cells} |"
        )
    lines += [
        "",
        "Peak MiB: the largest single process of the run (the CLI's, or dbt's), GNU time's "
        "maximum resident set size. Floor: DuckDB reading every landing file once (count and "
        "one numeric sum per table). Targets on 2 cores / 24 GiB at 1M: full run <= 600 s and "
        "<= 6144 MiB, daily run <= 60 s, full run <= 15x the floor.",
        "",
        "Seconds per phase (steps' own time from Dagster's event log; other = the rest of the "
        "wall time: imports, the dbt manifest, Dagster's start and event writes, the summary):",
        "",
    ]
    phases = [*PHASES, "other"]
    runs = sorted({k for r in results for k in r if k.endswith("_run")} - {"daily_run"})
    lines += ["| customers | run | " + " | ".join(phases) + " |", "|---|---|" + "---|" * 8]
    for r in results:
        for run in ("full_run", "daily_run", *(k for k in runs if k != "full_run")):
            if run in r:
                figures = r[run] if run in ("full_run", "daily_run") else r[run]["full_run"]
                cells = " | ".join(str(figures["phases"][p]) for p in phases)
                lines.append(f"| {r['customers']:,} | {run.replace('_', ' ')} | {cells} |")
    sourced = [(r, k) for r in results for k in runs if k != "full_run" and k in r]
    if sourced:
        lines += [
            "",
            "Billing sources (the same business in the source's shape, `run --source`; "
            "mismatches = customer-months whose MRR differs from the native run's):",
            "",
            "| customers | source | generate s | full run s | full run peak MiB | mismatches |",
            "|---|---|---|---|---|---|",
        ]
        for r, k in sourced:
            f = r[k]
            generated = f.get("generate", {}).get("seconds", "reused")
            lines.append(
                f"| {r['customers']:,} | {k.removesuffix('_run')} | {generated} "
                f"| {run_seconds(f['full_run'])} | {f['full_run']['peak_rss_mib']} "
                f"| {f.get('mismatches', '-')} of {f.get('customer_months', 0):,} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/swbench"))
    parser.add_argument("--label", default="", help="suffix of the results' file names")
    parser.add_argument(
        "--sources",
        nargs="*",
        default=[],
        choices=["stripe", "chargebee"],
        help="also run the business in these billing systems' shapes",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    machine = f"{os.cpu_count()} cores, {memory:.0f} GiB, {platform.platform()}"
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d") + (f"-{args.label}" if args.label else "")
    results = []
    for n in args.customers:
        results.append(bench(n, args.workdir.resolve(), args.sources))
        print(json.dumps(results[-1]), flush=True)
        # written after each scale: a later scale that stops the script keeps the earlier ones
        (out / f"{stamp}.json").write_text(
            json.dumps({"machine": machine, "results": results}, indent=2)
        )
        (out / f"{stamp}.md").write_text(markdown(results, machine) + "\n")
    print(markdown(results, machine))


if __name__ == "__main__":
    main()
