"""The `subscriber-warehouse` command: generate sample data, run the pipeline."""

from __future__ import annotations

import atexit
import csv
import gc
import os
import sys
from datetime import datetime
from pathlib import Path

import click

from subscriber_warehouse.dbt_target import dbt_target_path
from subscriber_warehouse.landing import inventory
from subscriber_warehouse.sources import source_names

# Python's last garbage collection at exit walks every object the imports made (Dagster, dbt,
# great-expectations): 1.6 s of every command that ran the pipeline; frozen objects are skipped
atexit.register(gc.freeze)

DEFAULT_LANDING = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"


@click.group()
def main() -> None:
    """Subscriber Warehouse: MRR, churn, retention and CLV from your billing exports."""


@main.command()
@click.option("--customers", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option(
    "--start",
    default="2024-01-01",
    show_default=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day of the simulated history.",
)
@click.option("--months", default=24, show_default=True, type=click.IntRange(min=1))
@click.option("--out", default=DEFAULT_LANDING, show_default=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    default="parquet",
    show_default=True,
    type=click.Choice(["parquet", "csv", *source_names()[1:]]),
    help="The raw contract's files (parquet, csv), or the billing tables as a billing system "
    "exports them (stripe: Fivetran's Stripe tables; chargebee: its API objects as JSON lines) "
    "beside the raw contract's other tables: the same business either way.",
)
@click.option(
    "--dirty", is_flag=True, help="Add realistic dirt: re-deliveries, a late file, bad rows."
)
@click.option(
    "--workers", default=os.cpu_count() or 1, show_default=True, type=click.IntRange(min=1)
)
def generate(customers, seed, start, months, out, fmt, dirty, workers) -> None:
    """Write a landing folder of realistic sample data that obeys the raw contract."""
    from subscriber_warehouse.generate import generate as run_generator
    from subscriber_warehouse.generate.sources import generate_source

    if out.exists() and any(out.iterdir()):
        raise click.ClickException(f"{out} is not empty: choose an empty or new folder")
    options = {
        "customers": customers,
        "seed": seed,
        "start": start.date(),
        "months": months,
        "dirty": dirty,
        "workers": workers,
        "progress": sys.stderr.isatty(),
    }
    if fmt in ("stripe", "chargebee"):
        manifest = generate_source(out, fmt, **options)
    else:
        manifest = run_generator(out, fmt=fmt, **options)
    rows = manifest["rows"]
    click.echo(f"wrote {sum(rows.values()):,} rows in {len(rows)} tables to {out}")


@main.command()
@click.option(
    "--landing", default=DEFAULT_LANDING, show_default=True, type=click.Path(path_type=Path)
)
@click.option(
    "--warehouse", default=DEFAULT_WAREHOUSE, show_default=True, type=click.Path(path_type=Path)
)
@click.option(
    "--day",
    default=None,
    type=click.DateTime(["%Y-%m-%d"]),
    help="Run one day's partition, as the daily schedule does, on the warehouse of an earlier "
    "run: the daily tables load only <table>/<day>/ and incremental models update from that "
    "day. Keep DAGSTER_HOME between runs so late days are caught up. Default: rebuild all.",
)
@click.option(
    "--source",
    "billing_source",
    default="native",
    show_default=True,
    type=click.Choice(source_names()),
    help="Where the billing tables come from: the raw contract's files (native), or a billing "
    "system's own tables landed in <landing>/<source>/ (docs/sources/).",
)
@click.option(
    "--source-database",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the --source tables from this DuckDB database (Fivetran's DuckDB destination: "
    "schema stripe) instead of <landing>/<source>/.",
)
def run(
    landing: Path,
    warehouse: Path,
    day: datetime | None,
    billing_source: str,
    source_database: Path | None,
) -> None:
    """Run the whole pipeline in-process: the same assets and checks a scheduled run uses."""
    # the arguments are checked before Dagster and dbt are imported: a wrong path costs a second
    _check_landing(landing, billing_source)
    _check_warehouse(warehouse, day)
    if source_database and billing_source == "native":
        raise click.ClickException("--source-database needs --source stripe (or another source)")
    _check_settings()
    from orchestration.pipeline import PipelineFailed, run_pipeline
    from subscriber_warehouse.lock import WarehouseBusy

    try:
        summary = run_pipeline(
            landing,
            warehouse,
            load_time=os.environ.get("SW_LOAD_TIME", ""),
            day=day and f"{day:%Y-%m-%d}",
            billing_source=billing_source,
            source_database=source_database,
        )
    except WarehouseBusy as busy:
        raise click.ClickException(str(busy)) from None
    except PipelineFailed as failed:
        outcome = "the warehouse was published" if failed.published else "nothing was published"
        click.echo(f"pipeline FAILED ({len(failed.errors)} step(s)); {outcome}:", err=True)
        for step, message in failed.errors:
            click.echo(f"  {step}: {message}", err=True)
        if failed.quality:
            click.echo(failed.quality, err=True)
        click.echo(f"full log: {failed.log}", err=True)
        sys.exit(1)
    click.echo(summary)


def _check_landing(landing: Path, billing_source: str) -> None:
    if not landing.is_dir() or not any(landing.iterdir()):
        raise click.ClickException(
            f"landing folder {landing} is missing or empty: land your exports there "
            "(docs/raw-contract.md) or create sample data with `subscriber-warehouse generate`"
        )
    found = inventory(landing, billing_source)
    for problem in found.errors:
        click.echo(f"landing: {problem}", err=True)
    if found.errors:
        raise click.ClickException(
            f"{len(found.errors)} problem(s) in {landing}: nothing was loaded; --landing is the "
            "folder holding one folder per table (customers/, subscription_events/, ...)"
        )


def _check_settings() -> None:
    """The gates' settings (SW_GATE_*, SW_EMAIL_SALT) are checked as quality/config.py loads:
    a wrong one is a line, not a traceback from deep in the run's imports."""
    try:
        import quality.config  # noqa: F401
    except ValueError as wrong:
        raise click.ClickException(str(wrong)) from None


# every DuckDB database file has these bytes at this offset
DUCKDB_MAGIC, DUCKDB_MAGIC_OFFSET = b"DUCK", 8


def _check_warehouse(warehouse: Path, day: datetime | None) -> None:
    if warehouse.is_dir():
        raise click.ClickException(
            f"--warehouse {warehouse} is a folder: give the DuckDB file to publish, "
            f"e.g. {warehouse / 'warehouse.duckdb'}"
        )
    if warehouse.is_file():
        with open(warehouse, "rb") as file:
            header = file.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
        if header[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
            raise click.ClickException(
                f"--warehouse {warehouse} exists and is not a DuckDB database: give a new path "
                "or the file of an earlier run"
            )
    elif day:
        raise click.ClickException(
            f"--day updates an existing warehouse and {warehouse} does not exist: run once "
            "without --day first"
        )
    folder = next(p for p in warehouse.absolute().parents if p.exists())
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise click.ClickException(f"--warehouse {warehouse}: cannot write in {folder}")


def _names(_ctx, _param, value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


@main.command()
@click.option("--metrics", callback=_names, help="Comma-separated metric names.")
@click.option(
    "--group-by",
    callback=_names,
    help="Comma-separated dimensions, e.g. metric_time__month,subscriber__country.",
)
@click.option("--where", multiple=True, help="A filter, e.g. \"{{ Dimension('x__y') }} = 'z'\".")
@click.option("--order", callback=_names, help="Comma-separated; a leading - sorts descending.")
@click.option("--limit", type=click.IntRange(min=1), default=None)
@click.option("--saved-query", default=None, help="A saved query's name instead of metrics.")
@click.option(
    "--warehouse",
    default=DEFAULT_WAREHOUSE,
    show_default=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--csv", "csv_path", default=None, type=click.Path(path_type=Path), help="Write a CSV here."
)
def metrics(metrics, group_by, where, order, limit, saved_query, warehouse, csv_path) -> None:
    """Query the semantic layer's metrics (MetricFlow) from the published warehouse, read-only.

    The numbers `mf query` gives, in about a second; a metric with no value in some rows is
    named on stderr, with why."""
    from subscriber_warehouse import metrics as semantic_layer

    if not metrics and not saved_query:
        raise click.UsageError("give --metrics or --saved-query")
    request = semantic_layer.MetricsQuery(metrics, group_by, where, order, limit, saved_query)
    try:
        table = semantic_layer.query(warehouse, dbt_target_path(), request)
    except FileNotFoundError as missing:
        raise click.ClickException(str(missing)) from None
    for warning in semantic_layer.blank_metrics(table, request):
        click.echo(f"warning: {warning}", err=True)
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(table.column_names)
            writer.writerows(table.rows)
        click.echo(f"wrote {table.row_count} rows to {csv_path}")
    else:
        click.echo(table.text_format())


@main.command("spark-load")
@click.option(
    "--landing", default=DEFAULT_LANDING, show_default=True, type=click.Path(path_type=Path)
)
@click.option(
    "--spark-dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Spark warehouse and metastore folder [default: $SW_SPARK_DIR or data/spark]; give "
    "dbt the same one (SW_SPARK_DIR, absolute).",
)
def spark_load(landing: Path, spark_dir: Path | None) -> None:
    """Load the landing files into Spark database `raw`, for `dbt build --target spark`.

    The normal loader validates the files into <spark-dir>/raw_load.duckdb (raw contract,
    quarantine, accounting); each raw table is then written as a Parquet table of the Spark
    warehouse dbt's `spark` target opens. Needs the `spark` extra (.venv-spark).
    """
    try:
        import pyspark  # noqa: F401

        from subscriber_warehouse import spark_load as sl
    except ImportError as exc:
        raise click.ClickException(
            f"{exc}: install the spark extra (make test-spark builds .venv-spark)"
        ) from exc
    from subscriber_warehouse.load import LoadError

    directory = (spark_dir or sl.spark_dir()).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    from orchestration.resources import load_instant

    now = load_instant(os.environ.get("SW_LOAD_TIME", ""))
    try:
        loaded = sl.load_landing(landing, directory / "raw_load.duckdb", now)
    except LoadError as exc:
        raise click.ClickException(str(exc)) from exc
    spark = sl.session(directory)
    try:
        counts = sl.copy_raw(directory / "raw_load.duckdb", spark)
    finally:
        spark.stop()
    for name, (rows, rejected) in loaded.items():
        note = f" ({rejected:,} rejected: raw.rejected_rows)" if rejected else ""
        click.echo(f"raw.{name}: {rows:,} rows{note}")
    click.echo(f"{len(counts)} tables in Spark database raw under {directory}")
    click.echo(f"next: SW_SPARK_DIR={directory} SW_DBT_TARGET=spark dbt build --selector spark")


@main.command()
@click.option(
    "--warehouse",
    default=DEFAULT_WAREHOUSE,
    show_default=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The published warehouse (opened read-only).",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write [default: beside the warehouse, e.g. data/warehouse.report.html].",
)
def report(warehouse: Path, out: Path | None) -> None:
    """Render the metrics report: one self-contained HTML page of charts, no server needed."""
    from subscriber_warehouse.report import ReportError, write_report

    try:
        path = write_report(warehouse, out)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {path}")


@main.group()
def clv() -> None:
    """Predictive CLV models for analysts (sBG, BG/NBD + Gamma-Gamma); prints JSON."""


def _parse_survivors(ctx, param, value: str) -> list[float]:
    try:
        counts = [float(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise click.BadParameter("a comma-separated list of numbers, e.g. 1000,631,468") from exc
    if len(counts) < 2:
        raise click.BadParameter("give at least two survivor counts")
    return counts


@clv.command()
@click.option(
    "--survivors",
    required=True,
    callback=_parse_survivors,
    help="Cohort survivor counts n(0),n(1),...: customers who have made 0, 1, ... renewals.",
)
@click.option(
    "--discount-rate", default=0.1, show_default=True, type=click.FloatRange(min=0, min_open=True)
)
@click.option(
    "--horizon",
    default=None,
    type=click.IntRange(min=1),
    help="Periods of projected survivors, t = 0..horizon-1 [default: len(survivors) + 5].",
)
def sbg(survivors: list[float], discount_rate: float, horizon: int | None) -> None:
    """Fit the shifted-beta-geometric model (Fader & Hardie 2007) to one cohort.

    Prints alpha, beta, log_likelihood, projected_survivors (expected counts n0*S(t) for
    t = 0..horizon-1), del (discounted expected lifetime of a newly acquired customer, in
    periods' payments, first payment included) and derl: the discounted expected residual
    lifetime (Fader & Hardie 2010) of a customer still active at the last observed period,
    i.e. who has made len(survivors)-1 renewals, valued just before their next renewal
    decision (the next payment counts if they renew, undiscounted). derl_renewals says which n.
    """
    import json

    from subscriber_warehouse.clv.sbg import fit_sbg

    try:
        fit = fit_sbg(survivors)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--survivors") from exc
    renewals = len(survivors) - 1
    horizon = horizon or len(survivors) + 5
    out = {
        "alpha": fit.alpha,
        "beta": fit.beta,
        "log_likelihood": fit.log_likelihood,
        "projected_survivors": [float(v) for v in fit.projected_survivors(horizon)],
        "discount_rate": discount_rate,
        "del": fit.del_(discount_rate),
        "derl": float(fit.derl(discount_rate, renewals)),
        "derl_renewals": renewals,
        "converged": fit.converged,
    }
    click.echo(json.dumps(out, indent=2))


@clv.command()
@click.option(
    "--transactions",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with one row per purchase.",
)
@click.option("--customer-col", required=True)
@click.option("--date-col", required=True)
@click.option("--amount-col", required=True)
@click.option(
    "--calibration-end",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last day of the calibration period; later rows are ignored.",
)
@click.option("--freq", default="W", show_default=True, type=click.Choice(["W", "D"]))
def bgnbd(transactions, customer_col, date_col, amount_col, calibration_end, freq) -> None:
    """Fit BG/NBD (purchase counts) and Gamma-Gamma (spend) to a transactions CSV.

    Recency, T and frequency follow lifetimes' summary conventions (periods of --freq; repeat
    purchases = distinct periods after the first). Gamma-Gamma uses customers with a repeat
    purchase and positive mean spend.
    """
    import json

    import pandas as pd

    from subscriber_warehouse.clv.bgnbd import fit_bgnbd
    from subscriber_warehouse.clv.gammagamma import fit_gamma_gamma
    from subscriber_warehouse.clv.summary import summary_from_transactions

    frame = pd.read_csv(transactions)
    missing = [c for c in (customer_col, date_col, amount_col) if c not in frame.columns]
    if missing:
        raise click.ClickException(f"{transactions}: no column(s) {', '.join(missing)}")
    try:
        summary = summary_from_transactions(
            frame, customer_col, date_col, calibration_end, amount_col=amount_col, freq=freq
        )
        counts = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
        spend = fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    out = {
        "r": counts.r,
        "alpha": counts.alpha,
        "a": counts.a,
        "b": counts.b,
        "log_likelihood": counts.log_likelihood,
        "p": spend.p,
        "q": spend.q,
        "gamma": spend.gamma,
        "gamma_gamma_log_likelihood": spend.log_likelihood,
        "customers": int(len(summary)),
        "repeat_customers": spend.customers,
        "freq": freq,
    }
    click.echo(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
