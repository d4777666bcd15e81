"""Running the Dagster pipeline in-process, as the CLI does, and summarising what it did."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import quality_report
from orchestration.partitions import PARTITION_TAG, full_run_tags
from orchestration.progress import RunProgress, progress_logger
from orchestration.project import prepare_manifest
from orchestration.resources import BILLING_SOURCE_ENV, Warehouse, env_memory_limit
from subscriber_warehouse.landing import inventory
from subscriber_warehouse.lock import warehouse_lock
from subscriber_warehouse.publish import make_working_folder, open_published
from subscriber_warehouse.report.render import report_path
from subscriber_warehouse.sources import NATIVE, raw_tables

PROGRESS = "run_progress"
# Dagster's console log (into the run's log file) from warnings up, and the terminal's progress
_LOGGERS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}, PROGRESS: {}}}


PUBLISH_STEP = "published__warehouse"
# the logs of this many runs are kept
RUNS_KEPT = 30


class PipelineFailed(Exception):
    def __init__(
        self,
        errors: list[tuple[str, str]],
        quality: str = "",
        published: bool = False,
        log: Path | None = None,
    ):
        super().__init__("; ".join(f"{s}: {m}" for s, m in errors))
        self.errors = errors
        self.quality = quality
        # a step after publishing (exports, report) can fail once BI already has the new file
        self.published = published
        self.log = log


def run_pipeline(
    landing: Path,
    warehouse: Path,
    load_time: str = "",
    day: str | None = None,
    billing_source: str = NATIVE,
    source_database: Path | None = None,
) -> str:
    """Materialise every asset; raise PipelineFailed naming each failed step and why.

    Without `day` the warehouse is rebuilt from every landing file (full refresh); with it,
    the run is that day's partition, as the daily schedule's: the daily tables load only that
    day's folders and incremental models update from it. `billing_source` names the billing
    system whose own tables are landed (subscriber_warehouse/sources.py), read from
    `source_database` (a DuckDB file) instead of files when given."""
    found = inventory(landing, billing_source)
    if found.errors:
        raise LandingProblems(found.errors)
    # dbt's parse enables that source's models, and the raw assets are its tables
    os.environ[BILLING_SOURCE_ENV] = billing_source
    with warehouse_lock(warehouse, f"cli:{os.getpid()}"):
        summary = _run(landing, warehouse, load_time, day, billing_source, source_database)
    notes = [f"landing: {w}" for w in found.warnings]
    return "\n".join([*notes, summary])


class LandingProblems(Exception):
    """Entries of the landing folder the run would skip with their rows: nothing ran."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _run(landing, warehouse, load_time, day, billing_source, source_database) -> str:
    log = new_run_log(warehouse)
    terminal = sys.stderr
    # dbt's event stream and Dagster's step errors go to the log file: the terminal gets the
    # progress, then the summary or the failures, once each
    with open(log, "w") as out, contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        prepare_manifest()
        make_working_folder(Path(warehouse).resolve())
        # the dbt assets read target/manifest.json when their module is imported
        from orchestration.dbt import dbt_nodes_per_step
        from orchestration.definitions import build_definitions

        resource = Warehouse(
            landing_dir=str(landing),
            warehouse_path=str(warehouse),
            billing_source=billing_source,
            source_database=str(source_database or ""),
            load_time=load_time,
            memory_limit=env_memory_limit(),
        )
        job = build_definitions(resource).resolve_job_def("pipeline")
        # what the imports and definitions made lives until the process ends: kept out of the
        # garbage collector's full passes, which walked it again and again (a 1,500-customer
        # run spent 4.5 s collecting, 2.9 s with it frozen)
        gc.freeze()
        progress = RunProgress(terminal, len(job.nodes_in_topological_order), dbt_nodes_per_step())
        job = job.with_logger_defs({**job.loggers, PROGRESS: progress_logger(progress)})
        instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
        with instance or dg.DagsterInstance.ephemeral() as inst, progress:
            result = job.execute_in_process(
                instance=inst,
                raise_on_error=False,
                run_config=_LOGGERS,
                tags=full_run_tags(landing) if day is None else {PARTITION_TAG: day},
            )
    report = quality_report.collect(result)
    quality_report.write(warehouse, report)
    if not result.success:
        published = any(
            e.event_type_value == "STEP_SUCCESS" and e.step_key == PUBLISH_STEP
            for e in result.all_events
        )
        raise PipelineFailed(_failures(result), quality_report.headline(report), published, log)
    outputs = f"report: {report_path(warehouse)}\nfull log: {log}"
    return "\n".join(
        [
            summarise(warehouse, billing_source),
            *_model_notes(result),
            quality_report.headline(report),
            outputs,
        ]
    )


def _model_notes(result: dg.ExecuteInProcessResult) -> list[str]:
    """Why a predictive model wrote no rows (too little history for it), one line each."""
    notes = []
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        skipped = materialization.metadata.get("skipped")
        if skipped is not None and skipped.value:
            notes.append(f"no {materialization.asset_key.path[-1]}: {skipped.value}")
    return notes


def run_logs(warehouse: Path) -> Path:
    """The folder of the runs' logs (dbt's and Dagster's output), beside the warehouse."""
    return Path(warehouse).with_suffix(".runs")


def new_run_log(warehouse: Path) -> Path:
    """This run's log file, <warehouse>.runs/<UTC start>-<pid>.log; the oldest beyond
    RUNS_KEPT are removed."""
    folder = run_logs(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob("*.log"))[: -RUNS_KEPT + 1 or None]:
        old.unlink(missing_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return folder / f"{stamp}-{os.getpid()}.log"


def _failures(result: dg.ExecuteInProcessResult) -> list[tuple[str, str]]:
    return quality_report.step_failures(result.all_events) or [
        ("run", "the run failed before any step did")
    ]


_HEADLINE = """
select month_start, mrr_end, arr_end, customers_end, logo_churn_rate, net_revenue_retention, arpa
from marts.subscription_metrics_monthly
order by month_start desc
limit 1
"""


def summarise(warehouse: Path, billing_source: str = NATIVE) -> str:
    """The load accounting per raw table and the as-of month's headline metrics."""
    con = open_published(warehouse)
    try:
        rows = con.execute(
            "select table_name, count(*), sum(rows_read), sum(rows_loaded), sum(rows_rejected) "
            "from audit.load_files group by table_name order by table_name"
        ).fetchall()
        headline = con.execute(_HEADLINE).fetchall()
        mapped = _mapping_accounting(con, billing_source) if billing_source != NATIVE else []
    finally:
        con.close()
    width = max([22, *(len(t) + 2 for t, *_ in rows)])
    lines = [f"{'raw table':<{width}}{'files':>6}{'read':>12}{'loaded':>12}{'rejected':>10}"]
    lines += [f"{t:<{width}}{f:>6}{r:>12,}{lo:>12,}{rej:>10,}" for t, f, r, lo, rej in rows]
    if mapped:
        lines.append(
            f"\n{billing_source + ' mapped':<{width}}{'':>6}{'loaded':>12}{'mapped':>12}"
            f"{'left out':>10}  (reasons: staging.{billing_source}__rejected_rows)"
        )
        lines += [f"{t:<{width}}{'':>6}{lo:>12,}{m:>12,}{q:>10,}" for t, lo, m, q in mapped]
    landed = {t for t, _, read, _, _ in rows if read}
    absent = [t.label for t in raw_tables(billing_source) if t.label not in landed]
    if absent:
        lines.append(f"no rows landed for: {', '.join(absent)} (their metrics are empty)")
    for month, mrr, arr, customers, churn, nrr, arpa in headline:
        lines.append(
            f"\n{month:%Y-%m}: MRR {mrr:,.2f}  ARR {arr:,.2f}  paying customers {customers:,}  "
            f"logo churn {_pct(churn)}  NRR {_pct(nrr)}  ARPA {arpa or 0:,.2f}"
        )
    return "\n".join(lines)


def _mapping_accounting(con, billing_source: str) -> list[tuple]:
    """A billing source's rows per table: loaded, mapped to the raw contract, left out."""
    try:
        return con.execute(
            "select staged_table, rows_loaded, rows_mapped, rows_quarantined "
            f"from marts.{billing_source}__row_accounting order by staged_table"
        ).fetchall()
    except duckdb.CatalogException:
        return []


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"
